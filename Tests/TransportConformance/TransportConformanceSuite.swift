public import StowageCore
import HTTPTypes
import NIOCore
import Synchronization

/// Nodes of the transport under test: each fixture starts nodes of its own (their own
/// network, sockets, certificates), so cases run side by side.
public protocol TransportFixture: Sendable {
    /// Starts node `id`, answering with `handler`.
    func node(_ id: String, handler: any ClusterRequestHandler) async throws -> any ClusterTransport
    /// Lets every node reach the others (addresses, for a transport that needs them).
    func introduce(_ nodes: [any ClusterTransport]) async throws
    /// Stops a node: it answers nothing any more.
    func stop(_ node: any ClusterTransport) async throws
}

/// One check every `ClusterTransport` must pass.
public struct TransportConformanceCase: Sendable, CustomStringConvertible {
    public let name: String
    let body: @Sendable (any TransportFixture) async throws -> Void
    public var description: String { name }

    init(_ name: String, _ body: @escaping @Sendable (any TransportFixture) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public func run(_ fixture: any TransportFixture) async throws { try await body(fixture) }
}

public struct TransportConformanceFailure: Error, CustomStringConvertible {
    public let description: String
}

/// What every cluster transport does the same (CLUSTER.md §8): requests reach the named node's
/// handler with their fields and streamed bodies, responses stream back, and failures say
/// whether the request can have been applied.
///
/// ```swift
/// @Test(arguments: TransportConformanceSuite.cases)
/// func conformance(_ check: TransportConformanceCase) async throws { try await check.run(MyFixture()) }
/// ```
public enum TransportConformanceSuite {
    public static let cases: [TransportConformanceCase] = [
        TransportConformanceCase("a request reaches the named node and its response streams back") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            let b = try await fixture.node("node-b", handler: Echo(name: "node-b"))
            try await fixture.introduce([a, b])
            let body = Bytes.pattern(1 << 20)
            var fields = HTTPFields()
            fields[ClusterRequest.epoch] = "42"
            let response = try await a.send(
                ClusterRequest(verb: "write", resource: "drive/d1/obj/b/a key/ü", fields: fields, body: Bytes.chunked(body, 64 << 10)), to: b.local)
            try check(response.status == .accepted, "status \(response.status)")
            try check(response.fields[Echo.sender] == "node-a", "sender \(response.fields[Echo.sender] ?? "none")")
            try check(response.fields[Echo.node] == "node-b", "answered by \(response.fields[Echo.node] ?? "none")")
            try check(response.fields[Echo.verb] == "write" && response.fields[Echo.resource] == "drive/d1/obj/b/a key/ü", "verb and resource")
            try check(response.fields[ClusterRequest.epoch] == "42", "fields")
            try check(try await Bytes.read(response.body) == body, "the body came back changed")
            try await fixture.stop(a)
            try await fixture.stop(b)
        },
        TransportConformanceCase("a node may send to itself, bodies of unknown length included") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            try await fixture.introduce([a])
            let body = Bytes.pattern(300_000)
            let response = try await a.send(ClusterRequest(verb: "v", resource: "r", body: Bytes.chunked(body, 7_000, declared: false)), to: a.local)
            try check(try await Bytes.read(response.body) == body, "the body came back changed")
            try await fixture.stop(a)
        },
        TransportConformanceCase("an unknown node is not delivered to") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            try await fixture.introduce([a])
            do {
                _ = try await a.send(ClusterRequest(verb: "v", resource: "r"), to: NodeID("node-z"))
                throw TransportConformanceFailure(description: "a request to an unknown node succeeded")
            } catch let error as ClusterTransportError {
                guard case .notDelivered(let node, _) = error, node == NodeID("node-z") else { throw error }
            }
            try await fixture.stop(a)
        },
        TransportConformanceCase("a handler that throws leaves the outcome unknown, and the next request goes through") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            let b = try await fixture.node("node-b", handler: Echo(name: "node-b", failVerb: "boom"))
            try await fixture.introduce([a, b])
            do {
                _ = try await a.send(ClusterRequest(verb: "boom", resource: "r", body: S3Body(ByteBuffer(bytes: [1, 2, 3]))), to: b.local)
                throw TransportConformanceFailure(description: "a failed handler's request succeeded")
            } catch let error as ClusterTransportError {
                guard case .outcomeUnknown(let node, _) = error, node == b.local else { throw error }
            }
            let fine = try await a.send(ClusterRequest(verb: "ok", resource: "r"), to: b.local)
            try check(fine.status == .accepted, "status after a failure \(fine.status)")
            try await fixture.stop(a)
            try await fixture.stop(b)
        },
        TransportConformanceCase("a response body that breaks off reaches the reader as outcome unknown") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            let b = try await fixture.node("node-b", handler: Echo(name: "node-b"))
            try await fixture.introduce([a, b])
            let response = try await a.send(ClusterRequest(verb: "break", resource: "r"), to: b.local)
            do {
                _ = try await Bytes.read(response.body)
                throw TransportConformanceFailure(description: "a broken body read to its end")
            } catch let error as ClusterTransportError {
                guard case .outcomeUnknown = error else { throw error }
            }
            try await fixture.stop(a)
            try await fixture.stop(b)
        },
        TransportConformanceCase("200 concurrent requests each get their own answer") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            let b = try await fixture.node("node-b", handler: Echo(name: "node-b"))
            try await fixture.introduce([a, b])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let body = Bytes.pattern(1_000 + index * 37, seed: UInt8(truncatingIfNeeded: index))
                        let response = try await a.send(ClusterRequest(verb: "v", resource: "r\(index)", body: S3Body(ByteBuffer(bytes: body))), to: b.local)
                        try check(response.fields[Echo.resource] == "r\(index)", "answer \(index) went astray")
                        try check(try await Bytes.read(response.body) == body, "body \(index) came back changed")
                    }
                }
                try await group.waitForAll()
            }
            try await fixture.stop(a)
            try await fixture.stop(b)
        },
        // Not delivered; or, when the request left before the sender learned the node stopped
        // (QUIC: the peer's close still in flight), unknown: never an answer.
        TransportConformanceCase("a stopped node answers nothing") { fixture in
            let a = try await fixture.node("node-a", handler: Echo(name: "node-a"))
            let b = try await fixture.node("node-b", handler: Echo(name: "node-b"))
            try await fixture.introduce([a, b])
            _ = try await a.send(ClusterRequest(verb: "v", resource: "r"), to: b.local)
            try await fixture.stop(b)
            do {
                _ = try await a.send(ClusterRequest(verb: "v", resource: "r"), to: b.local)
                throw TransportConformanceFailure(description: "a stopped node answered")
            } catch is ClusterTransportError {}
            try await fixture.stop(a)
        },
    ]

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw TransportConformanceFailure(description: message()) }
    }
}

/// The handler every case uses: echoes the body back as it arrives, with who sent it, who
/// answered, the verb and resource; `break` answers a body that fails part way; `failVerb`
/// makes the handler throw.
struct Echo: ClusterRequestHandler {
    static let sender = HTTPField.Name("x-sender")!
    static let node = HTTPField.Name("x-node")!
    static let verb = HTTPField.Name("x-verb")!
    static let resource = HTTPField.Name("x-resource")!
    let name: String
    var failVerb: String?

    struct Broken: Error {}

    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        if request.verb == failVerb { throw Broken() }
        var fields = request.fields
        fields[Self.sender] = sender.rawValue
        fields[Self.node] = name
        fields[Self.verb] = request.verb
        fields[Self.resource] = request.resource
        if request.verb == "break" {
            return ClusterResponse(status: .ok, fields: fields, body: S3Body(stream: BreakingBody(), length: nil))
        }
        return ClusterResponse(status: .accepted, fields: fields, body: request.body)
    }
}

/// 64 KiB, then an error.
struct BreakingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    struct AsyncIterator: AsyncIteratorProtocol {
        var sent = false
        mutating func next() async throws -> ByteBuffer? {
            guard !sent else { throw Echo.Broken() }
            sent = true
            return ByteBuffer(repeating: 7, count: 64 << 10)
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

enum Bytes {
    static func pattern(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    /// `bytes` delivered `size` at a time, with its length declared or not.
    static func chunked(_ bytes: [UInt8], _ size: Int, declared: Bool = true) -> S3Body {
        S3Body(stream: Chunks(bytes: bytes, size: size), length: declared ? Int64(bytes.count) : nil)
    }

    static func read(_ body: S3Body) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in body { out.append(contentsOf: chunk.readableBytesView) }
        return out
    }

    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        typealias Failure = any Error
        let bytes: [UInt8]
        let size: Int
        struct AsyncIterator: AsyncIteratorProtocol {
            let bytes: [UInt8]
            let size: Int
            var offset = 0
            mutating func next() async throws -> ByteBuffer? {
                guard offset < bytes.count else { return nil }
                let end = Swift.min(bytes.count, offset + size)
                defer { offset = end }
                return ByteBuffer(bytes: bytes[offset..<end])
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, size: size) }
    }
}
