// Handlers, bodies and outcome helpers shared by the in-process transport tests.
import HTTPTypes
import NIOCore
import StowageCore
import StowageInProcessTransport
import Synchronization

let nodeA = NodeID("node-a")
let nodeB = NodeID("node-b")
let nodeC = NodeID("node-c")

/// A thread-safe list: what handlers and sleepers saw, in order.
final class Log<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])
    func append(_ item: Item) { items.withLock { $0.append(item) } }
    var all: [Item] { items.withLock { $0 } }
}

/// One request as a handler received it.
struct Call: Equatable, Sendable {
    var node: NodeID
    var sender: NodeID
    var verb: String
    var body: [UInt8]
    var epoch: String?
}

struct Handler: ClusterRequestHandler {
    let respond: @Sendable (ClusterRequest, NodeID) async throws -> ClusterResponse
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        try await respond(request, sender)
    }
}

/// A body delivered `size` bytes at a time, as a socket would; `onEnd` runs when it is read to
/// the end.
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    let bytes: [UInt8]
    let size: Int
    var onEnd: (@Sendable () -> Void)?

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let size: Int
        let onEnd: (@Sendable () -> Void)?
        var offset = 0
        var ended = false

        mutating func next() async throws -> ByteBuffer? {
            guard offset < bytes.count else {
                if !ended { ended = true; onEnd?() }
                return nil
            }
            let end = Swift.min(bytes.count, offset + size)
            defer { offset = end }
            return ByteBuffer(bytes: bytes[offset..<end])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, size: size, onEnd: onEnd) }
}

struct Boom: Error {}

/// Records each call and echoes the body back in 3-byte chunks.
func recording(_ node: NodeID, into calls: Log<Call>, onReplyRead: (@Sendable () -> Void)? = nil) -> Handler {
    Handler { request, sender in
        let buffer = try await request.body.collect(upTo: 1 << 24, orThrow: S3Error(.entityTooLarge))
        let bytes = Array(buffer.readableBytesView)
        calls.append(Call(node: node, sender: sender, verb: request.verb, body: bytes, epoch: request.fields[ClusterRequest.epoch]))
        return ClusterResponse(
            status: .ok,
            fields: [ClusterRequest.epoch: "9"],
            body: S3Body(stream: Chunks(bytes: bytes, size: 3, onEnd: onReplyRead), length: Int64(bytes.count))
        )
    }
}

/// How a send ended, comparable across runs.
enum Outcome: Equatable {
    case delivered(HTTPResponse.Status)
    case notDelivered(NodeID)
    case outcomeUnknown(NodeID)
    case failed(String)
}

/// Sends and reads the whole reply, reducing the result to what tests compare.
func exchange(_ transport: InProcessTransport, to node: NodeID, _ body: S3Body = .empty) async -> Outcome {
    do {
        let response = try await transport.send(ClusterRequest(verb: "write", resource: "drive/d1/obj/b/k", body: body), to: node)
        for try await _ in response.body {}
        return .delivered(response.status)
    } catch let error as ClusterTransportError {
        switch error {
        case .notDelivered(let node, _): return .notDelivered(node)
        case .outcomeUnknown(let node, _): return .outcomeUnknown(node)
        }
    } catch {
        return .failed("\(error)")
    }
}

func bytes(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}
