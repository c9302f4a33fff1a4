// QUIC transport vs the in-process transport, side by side in one run (issue 14's targets):
// handshake time, one stream's throughput on one connection, and several connections at once.
// Release build: swift build -c release --product quic-bench && .build/release/quic-bench
import Foundation
import HTTPTypes
import NIOCore
import StowageCore
import StowageInProcessTransport
import StowageQUIC

struct Drain: ClusterRequestHandler {
    /// Reads the whole body and answers its length; a "get" of N answers N bytes instead (a
    /// shard read's pattern: small request, large answer).
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        if request.verb == "get", let size = Int(request.resource) {
            return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(repeating: 0x5a, count: size)))
        }
        var count = 0
        for try await chunk in request.body { count += chunk.readableBytes }
        return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(string: String(count))))
    }
}

/// `total` bytes in `chunk`-sized buffers that share one allocation (no copying on our side).
struct Payload: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    let total: Int
    let buffer: ByteBuffer
    struct AsyncIterator: AsyncIteratorProtocol {
        var left: Int
        let buffer: ByteBuffer
        mutating func next() async throws -> ByteBuffer? {
            guard left > 0 else { return nil }
            let size = Swift.min(left, buffer.readableBytes)
            left -= size
            return buffer.getSlice(at: buffer.readerIndex, length: size)
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(left: total, buffer: buffer) }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func send(_ transport: any ClusterTransport, to node: NodeID, bytes: Int) async throws {
    let body = S3Body(stream: Payload(total: bytes, buffer: ByteBuffer(repeating: 0x5a, count: 1 << 20)), length: Int64(bytes))
    let response = try await transport.send(ClusterRequest(verb: "put", resource: "bench", body: body), to: node)
    var answer = ""
    for try await chunk in response.body { answer += String(buffer: chunk) }
    guard answer == String(bytes) else { throw CancellationError() }
}

/// Requests of `size`-byte answers, one after another, `count` times: the median time of one.
func fetchLatency(_ transport: any ClusterTransport, to node: NodeID, size: Int, count: Int) async throws -> Double {
    var times: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<count {
        let elapsed = try await clock.measure {
            let response = try await transport.send(ClusterRequest(verb: "get", resource: String(size), body: .empty), to: node)
            var received = 0
            for try await chunk in response.body { received += chunk.readableBytes }
            guard received == size else { throw CancellationError() }
        }
        times.append(seconds(elapsed) * 1000)
    }
    return times.sorted()[count / 2]
}

/// MB/s (10^6 bytes) of `streams` concurrent sends of `bytes` each, through `pick(i)`'s transport.
func throughput(streams: Int, bytes: Int, _ pick: @escaping @Sendable (Int) -> (any ClusterTransport, NodeID)) async throws -> Double {
    let clock = ContinuousClock()
    let elapsed = try await clock.measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<streams {
                let (transport, node) = pick(index)
                group.addTask { try await send(transport, to: node, bytes: bytes) }
            }
            try await group.waitForAll()
        }
    }
    return Double(streams * bytes) / seconds(elapsed) / 1e6
}

let arguments = CommandLine.arguments
let gigabytes = arguments.count > 1 ? Double(arguments[1]) ?? 1 : 1
let total = Int(gigabytes * Double(1 << 30))
let ca = try ClusterCertificateAuthority.generate(clusterID: "bench")
let server = try await QUICTransport.start(host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: "server"), handler: Drain())
var started: [QUICTransport] = []
for index in 0..<4 {
    let client = try await QUICTransport.start(host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: "client-\(index)"), handler: Drain())
    client.setPeer(server.local, at: server.endpoint.localAddress)
    started.append(client)
}
let clients = started
let network = InProcessNetwork()
let inProcessServer = network.attach(NodeID("server"), handler: Drain())
let inProcessClient = network.attach(NodeID("client"), handler: Drain())
_ = inProcessServer

// Handshakes: a fresh client endpoint per connection; the first request's time less a warm
// request's on the same connection.
var handshakes: [Double] = []
for index in 0..<20 {
    let fresh = try await QUICTransport.start(host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: "fresh-\(index)"), handler: Drain())
    fresh.setPeer(server.local, at: server.endpoint.localAddress)
    let clock = ContinuousClock()
    let first = try await clock.measure { try await send(fresh, to: server.local, bytes: 0) }
    let warm = try await clock.measure { try await send(fresh, to: server.local, bytes: 0) }
    handshakes.append(max(0, seconds(first) - seconds(warm)) * 1000)
    try await fresh.close()
}
handshakes.sort()

let warmup = try await throughput(streams: 1, bytes: 64 << 20) { _ in (clients[0], server.local) }
_ = warmup
let quicOne = try await throughput(streams: 1, bytes: total) { _ in (clients[0], server.local) }
let quicFour = try await throughput(streams: 4, bytes: total / 4) { (clients[$0], server.local) }
let quicStreams = try await throughput(streams: 8, bytes: total / 8) { _ in (clients[0], server.local) }
let fetchSmall = try await fetchLatency(clients[0], to: server.local, size: 4096, count: 200)
let fetchMiB = try await fetchLatency(clients[0], to: server.local, size: 1 << 20, count: 200)
let inProcessOne = try await throughput(streams: 1, bytes: total) { _ in (inProcessClient, NodeID("server")) }

func mbs(_ value: Double) -> String { String(format: "%8.0f MB/s", value) }
print("transport benchmark, \(String(format: "%.2f", gigabytes)) GiB per figure, release build, loopback")
print("handshake (mutual TLS, P-256), 20 connections: median \(String(format: "%.2f", handshakes[10])) ms, max \(String(format: "%.2f", handshakes[19])) ms")
print("QUIC, 1 stream on 1 connection         \(mbs(quicOne))")
print("QUIC, 8 streams on 1 connection        \(mbs(quicStreams))")
print("QUIC, 4 connections (1 stream each)    \(mbs(quicFour))")
print("QUIC, 4 KiB answer, one at a time       \(String(format: "%8.2f ms", fetchSmall)) median")
print("QUIC, 1 MiB answer, one at a time       \(String(format: "%8.2f ms", fetchMiB)) median (\(mbs(Double(1 << 20) / fetchMiB / 1000)))")
print("in-process transport, 1 stream         \(mbs(inProcessOne))")
for client in clients { try await client.close() }
try await server.close()
