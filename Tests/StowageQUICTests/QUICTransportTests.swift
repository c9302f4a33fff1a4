import Foundation
import HTTPTypes
import NIOCore
import StowageCore
@testable import StowageQUIC
import Synchronization
import Testing

/// Two or three nodes on 127.0.0.1, each a real QUIC endpoint on an ephemeral UDP port, with
/// certificates from a cluster CA made for the test.
@Suite(.timeLimit(.minutes(2)))
struct QUICTransportTests {
    struct Handler: ClusterRequestHandler {
        let respond: @Sendable (ClusterRequest, NodeID) async throws -> ClusterResponse
        func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
            try await respond(request, sender)
        }
    }

    struct Boom: Error {}

    /// Echoes the body back as it arrives, with the verb, resource and sender in fields.
    static let echo = Handler { request, sender in
        var fields: HTTPFields = [:]
        fields[HTTPField.Name("x-verb")!] = request.verb
        fields[HTTPField.Name("x-resource")!] = request.resource
        fields[HTTPField.Name("x-sender")!] = sender.rawValue
        fields[HTTPField.Name("x-epoch")!] = request.fields[ClusterRequest.epoch] ?? ""
        return ClusterResponse(status: .accepted, fields: fields, body: request.body)
    }

    static func node(_ id: String, _ ca: ClusterCertificateAuthority, handler: Handler = echo) async throws -> QUICTransport {
        try await QUICTransport.start(host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: id), handler: handler)
    }

    static func introduce(_ nodes: QUICTransport...) {
        for node in nodes { for other in nodes { node.setPeer(other.local, at: other.endpoint.localAddress) } }
    }

    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static func read(_ body: S3Body) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in body { out.append(contentsOf: chunk.readableBytesView) }
        return out
    }

    @Test(arguments: [0, 1, 1_000, 100_000, 3 << 20])
    func aRequestAndItsResponseRoundTrip(size: Int) async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-rt")
        let a = try await Self.node("node-a", ca), b = try await Self.node("node-b", ca)
        Self.introduce(a, b)
        let body = Self.bytes(size)
        var fields = HTTPFields()
        fields[ClusterRequest.epoch] = "42"
        let request = ClusterRequest(
            verb: "write", resource: "drive/d1/obj/b/a key/ü", fields: fields,
            body: size == 0 ? .empty : S3Body(ByteBuffer(bytes: body)))
        let response = try await a.send(request, to: b.local)
        #expect(response.status == .accepted)
        #expect(response.fields[HTTPField.Name("x-verb")!] == "write")
        #expect(response.fields[HTTPField.Name("x-resource")!] == "drive/d1/obj/b/a key/ü")
        #expect(response.fields[HTTPField.Name("x-sender")!] == "node-a")
        #expect(response.fields[HTTPField.Name("x-epoch")!] == "42")
        #expect(response.body.declaredLength == Int64(size))
        #expect(try await Self.read(response.body) == body)
        try await a.close()
        try await b.close()
    }

    /// A process whose certificate another CA signed can neither reach a node nor be reached.
    @Test func aCertificateFromAnotherClusterIsRefusedBothWays() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-ours")
        let other = try ClusterCertificateAuthority.generate(clusterID: "c-theirs")
        let calls = Mutex(0)
        let counting = Handler { request, _ in
            calls.withLock { $0 += 1 }
            return ClusterResponse(status: .ok)
        }
        let a = try await Self.node("node-a", ca, handler: counting)
        let intruder = try await Self.node("node-x", other, handler: counting)
        Self.introduce(a, intruder)
        for (from, to) in [(intruder, a), (a, intruder)] {
            do {
                _ = try await from.send(ClusterRequest(verb: "v", resource: "r"), to: to.local)
                Issue.record("a connection across clusters succeeded")
            } catch let error as ClusterTransportError {
                guard case .notDelivered = error else { Issue.record("\(error)"); continue }
            }
        }
        #expect(calls.withLock { $0 } == 0)
        try await a.close()
        try await intruder.close()
    }

    /// The dialling node checks the certificate names the node it meant.
    @Test func aNodeAnsweringUnderAnotherNameIsRefused() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-name")
        let a = try await Self.node("node-a", ca), b = try await Self.node("node-b", ca)
        a.setPeer(NodeID("node-c"), at: b.endpoint.localAddress)
        await #expect(throws: ClusterTransportError.self) {
            _ = try await a.send(ClusterRequest(verb: "v", resource: "r"), to: NodeID("node-c"))
        }
        try await a.close()
        try await b.close()
    }

    /// More requests at once than the peer grants streams (1,024): the rest wait for streams
    /// to close and go on them.
    @Test func fifteenHundredConcurrentRequestsShareOneConnection() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-many")
        let a = try await Self.node("node-a", ca), b = try await Self.node("node-b", ca)
        Self.introduce(a, b)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<1_500 {
                group.addTask {
                    let body = Self.bytes(100 + index % 300, seed: UInt8(truncatingIfNeeded: index))
                    let response = try await a.send(ClusterRequest(verb: "v", resource: "r\(index)", body: S3Body(ByteBuffer(bytes: body))), to: b.local)
                    return try await Self.read(response.body) == body
                        && response.fields[HTTPField.Name("x-resource")!] == "r\(index)"
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 1_500)
        #expect(results.allSatisfy { $0 })
        try await a.close()
        try await b.close()
    }
}

/// Bodies produced on demand, counting what was pulled: how far a sender got.
struct CountingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    let total: Int
    let chunk: Int

    final class Counter: Sendable {
        let value = Atomic(0)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let total: Int
        let chunk: Int
        let counter: Counter
        var sent = 0
        mutating func next() async throws -> ByteBuffer? {
            guard sent < total else { return nil }
            let size = Swift.min(chunk, total - sent)
            sent += size
            counter.value.add(size, ordering: .relaxed)
            return ByteBuffer(repeating: UInt8(truncatingIfNeeded: sent), count: size)
        }
    }

    let counter: Counter
    init(total: Int, chunk: Int, counter: Counter) {
        self.total = total
        self.chunk = chunk
        self.counter = counter
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(total: total, chunk: chunk, counter: counter) }
}

@Suite(.timeLimit(.minutes(2)))
struct QUICBackpressureTests {
    typealias Tests = QUICTransportTests

    /// A peer that does not read stops the sender: what the sender pulled from its body stays
    /// within the flow-control windows, however long the peer waits; then everything arrives.
    @Test func aPeerThatStopsReadingStopsTheSender() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-slow")
        let gate = AsyncStream<Void>.makeStream()
        let handler = Tests.Handler { request, _ in
            for await _ in gate.stream { break }
            var count = 0
            for try await chunk in request.body { count += chunk.readableBytes }
            return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(string: String(count))))
        }
        let a = try await Tests.node("node-a", ca), b = try await Tests.node("node-b", ca, handler: handler)
        Tests.introduce(a, b)
        let counter = CountingBody.Counter()
        let total = 64 << 20
        let sending = Task {
            let body = S3Body(stream: CountingBody(total: total, chunk: 64 << 10, counter: counter), length: Int64(total))
            let response = try await a.send(ClusterRequest(verb: "put", resource: "r", body: body), to: b.local)
            return try await Tests.read(response.body)
        }
        // Under a loaded machine the windows may take seconds to fill, so wait for the sender
        // to settle (unchanged for a second, 20 s at most) rather than for a fixed time.
        var settled = counter.value.load(ordering: .relaxed), quiet = 0
        for _ in 0..<80 where quiet < 4 && settled < 12 << 20 {
            try await Task.sleep(for: .milliseconds(250))
            let now = counter.value.load(ordering: .relaxed)
            quiet = now == settled ? quiet + 1 : 0
            settled = now
        }
        #expect(quiet >= 4, "the sender never settled: \(settled) bytes pulled")
        try await Task.sleep(for: .seconds(2))
        let later = counter.value.load(ordering: .relaxed)
        // Windows: 1 MiB queued at the sender, the stream's receive window (auto-tuned to 4 MiB
        // at most), one chunk in hand. A sender that kept going pulls hundreds of MB a second.
        #expect(later < 12 << 20, "the sender pulled \(later) bytes from a peer that reads nothing")
        #expect(later - settled <= 256 << 10, "the sender kept going: \(settled) then \(later)")
        gate.continuation.yield()
        let answer = try await sending.value
        #expect(String(decoding: answer, as: UTF8.self) == String(total))
        try await a.close()
        try await b.close()
    }

    /// A connection lost while a response streams: the reader learns "outcome unknown".
    @Test func aConnectionLostMidStreamLeavesTheOutcomeUnknown() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-lost")
        let endless = Tests.Handler { _, _ in
            let counter = CountingBody.Counter()
            return ClusterResponse(status: .ok, body: S3Body(stream: CountingBody(total: 1 << 40, chunk: 64 << 10, counter: counter), length: nil))
        }
        let a = try await Tests.node("node-a", ca), b = try await Tests.node("node-b", ca, handler: endless)
        Tests.introduce(a, b)
        let response = try await a.send(ClusterRequest(verb: "get", resource: "r"), to: b.local)
        var iterator = response.body.makeAsyncIterator()
        #expect(try await iterator.next() != nil)
        try await b.close()
        do {
            while try await iterator.next() != nil {}
            Issue.record("the body ended cleanly")
        } catch let error as ClusterTransportError {
            guard case .outcomeUnknown = error else { Issue.record("\(error)"); return }
        }
        try await a.close()
    }
}

@Suite(.timeLimit(.minutes(2)))
struct QUICStreamLifecycleTests {
    typealias Tests = QUICTransportTests

    /// A handler that answers without reading the body (an early refusal): the sender gets
    /// the answer, whole, and its body stops.
    @Test func anEarlyAnswerReachesTheSenderWhole() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-early")
        let refuse = Tests.Handler { _, _ in
            ClusterResponse(status: .forbidden, body: S3Body(ByteBuffer(string: "no thanks")))
        }
        let a = try await Tests.node("node-a", ca), b = try await Tests.node("node-b", ca, handler: refuse)
        Tests.introduce(a, b)
        for _ in 0..<20 {
            let counter = CountingBody.Counter()
            let body = S3Body(stream: CountingBody(total: 64 << 20, chunk: 64 << 10, counter: counter), length: 64 << 20)
            let response = try await a.send(ClusterRequest(verb: "put", resource: "r", body: body), to: b.local)
            #expect(response.status == .forbidden)
            #expect(String(decoding: try await Tests.read(response.body), as: UTF8.self) == "no thanks")
            #expect(counter.value.load(ordering: .relaxed) < 16 << 20)
        }
        try await a.close()
        try await b.close()
    }

    /// A sender that gives up (its task cancelled) gets its answer at once; the connection
    /// goes on serving.
    @Test func aCancelledSendEndsAtOnce() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-cancel")
        let slow = Tests.Handler { request, _ in
            if request.verb == "slow" { try await Task.sleep(for: .seconds(60)) }
            return ClusterResponse(status: .ok)
        }
        let a = try await Tests.node("node-a", ca), b = try await Tests.node("node-b", ca, handler: slow)
        Tests.introduce(a, b)
        #expect(try await a.send(ClusterRequest(verb: "fast", resource: "r"), to: b.local).status == .ok)
        let started = ContinuousClock.now
        let sending = Task { try await a.send(ClusterRequest(verb: "slow", resource: "r"), to: b.local) }
        try await Task.sleep(for: .milliseconds(200))
        sending.cancel()
        await #expect(throws: (any Error).self) { _ = try await sending.value }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try await a.send(ClusterRequest(verb: "fast", resource: "r"), to: b.local).status == .ok)
        try await a.close()
        try await b.close()
    }

    /// Response bodies dropped after one chunk: each stream ends (the peer is told to stop),
    /// so more of them than the peer grants streams still go through.
    @Test func droppedResponseBodiesGiveTheirStreamsBack() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-drop")
        let big = Tests.Handler { _, _ in
            let counter = CountingBody.Counter()
            return ClusterResponse(status: .ok, body: S3Body(stream: CountingBody(total: 8 << 20, chunk: 64 << 10, counter: counter), length: 8 << 20))
        }
        let a = try await Tests.node("node-a", ca), b = try await Tests.node("node-b", ca, handler: big)
        Tests.introduce(a, b)
        for _ in 0..<1_100 {
            let response = try await a.send(ClusterRequest(verb: "get", resource: "r"), to: b.local)
            var iterator = response.body.makeAsyncIterator()
            #expect(try await iterator.next() != nil)
        }
        try await a.close()
        try await b.close()
    }
}

@Suite(.timeLimit(.minutes(1)))
struct QUICRestartTests {
    typealias Tests = QUICTransportTests

    /// A peer killed and started again on its port: the old connection's next packet gets a
    /// stateless reset from the new process (it derives its tokens from its key), so the
    /// sender learns at once, not after the 30 s idle timeout, and the next request dials anew.
    @Test func aPeerThatRestartsIsReachedAgainAtOnce() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-restart")
        let a = try await Tests.node("node-a", ca)
        let credentials = try ca.issue(nodeID: "node-b")
        let b = try await QUICTransport.start(host: "127.0.0.1", port: 0, credentials: credentials, handler: Tests.echo)
        Tests.introduce(a, b)
        #expect(try await a.send(ClusterRequest(verb: "v", resource: "r"), to: b.local).status == .accepted)
        let port = try #require(b.endpoint.localAddress.port)
        try await b.endpoint.abort()
        let again = try await QUICTransport.start(host: "127.0.0.1", port: port, credentials: credentials, handler: Tests.echo)
        let started = ContinuousClock.now
        do {
            _ = try await a.send(ClusterRequest(verb: "v", resource: "r", body: S3Body(ByteBuffer(bytes: [1, 2, 3]))), to: b.local)
        } catch is ClusterTransportError {
            // Sent on the old connection: the reset ends it, outcome unknown.
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await a.send(ClusterRequest(verb: "v", resource: "r"), to: b.local).status == .accepted)
        try await a.close()
        try await again.close()
    }
}

@Suite(.timeLimit(.minutes(1)))
struct QUICNoCertificateTests {
    typealias Tests = QUICTransportTests

    /// A process that trusts the cluster CA but holds no certificate of its own cannot get a
    /// request to a node: the node requires a client certificate, and the handler never runs.
    /// (In TLS 1.3 the dialling side finishes its handshake before the node has checked its
    /// certificate, so it may already have sent the request: it learns "outcome unknown".)
    @Test func aClientWithoutACertificateIsRefused() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-nocert")
        let calls = Mutex(0)
        let counting = Tests.Handler { _, _ in
            calls.withLock { $0 += 1 }
            return ClusterResponse(status: .ok)
        }
        let node = try await Tests.node("node-a", ca, handler: counting)
        let outsider = try await QUICEndpoint.bind(
            host: "127.0.0.1", port: 0, tls: try TLSCredentials(trustingOnly: ca.certificatePEM, nodeID: "outsider"), handler: counting)
        do {
            _ = try await outsider.send(ClusterRequest(verb: "v", resource: "r"), to: node.local, at: node.endpoint.localAddress)
            Issue.record("a process without a certificate was answered")
        } catch is ClusterTransportError {}
        #expect(calls.withLock { $0 } == 0)
        try await outsider.close()
        try await node.close()
    }
}
