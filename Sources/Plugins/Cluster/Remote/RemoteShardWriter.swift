import HTTPTypes
import NIOCore
import StowageCore
import Synchronization

/// One shard streamed to a drive on another node while the erasure writer codes the body:
/// a `shardWrite` request whose body is the records as they come. At most `window` bytes
/// wait unsent, so a slow peer slows the writer instead of filling memory; `finish` returns
/// once the peer has the whole shard (synced, when the request asked). Abandoning it (or
/// dropping it unfinished) fails the body, and the peer removes what it wrote.
///
/// ```swift
/// let writer = RemoteShardWriter(transport: transport, node: peer, request: shardWriteRequest)
/// try await writer.append(record)
/// try await writer.finish()
/// ```
final class RemoteShardWriter: ShardStream {
    struct Abandoned: Error, CustomStringConvertible {
        var description: String { "the shard write was abandoned" }
    }

    private let feed: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    private let budget: ByteBudget
    private let reply: Task<Void, any Error>
    private let finished = Mutex(false)
    private let node: NodeID

    init(transport: any ClusterTransport, node: NodeID, request: ClusterRequest, window: Int = 2 << 20) {
        let (stream, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let budget = ByteBudget(capacity: window)
        self.feed = feed
        self.budget = budget
        self.node = node
        var request = request
        request.body = S3Body(stream: stream.map { buffer in
            budget.release(buffer.readableBytes)
            return buffer
        }, length: nil)
        let sending = request
        reply = Task {
            // However the exchange ends, the writer must not wait for room again.
            defer { budget.fail() }
            let response = try await transport.send(sending, to: node)
            for try await _ in response.body {}
            guard response.status == .ok else {
                throw ClusterTransportError.outcomeUnknown(node, reason: "shardWrite answered \(response.status.code)")
            }
        }
    }

    deinit {
        if !finished.withLock({ $0 }) { feed.finish(throwing: Abandoned()) }
    }

    func append(_ record: ByteBuffer) async throws {
        guard await budget.acquire(record.readableBytes) else {
            // The exchange ended before the shard did (its error says why), or this task was
            // cancelled: either way the shard is given up first, so the peer stops waiting
            // for more of the body and the exchange can end.
            abandon()
            try await reply.value
            throw ClusterTransportError.outcomeUnknown(node, reason: "the peer stopped reading the shard")
        }
        feed.yield(record)
    }

    func finish() async throws {
        finished.withLock { $0 = true }
        feed.finish()
        try await reply.value
    }

    func abandon() {
        finished.withLock { $0 = true }
        feed.finish(throwing: Abandoned())
        reply.cancel()
    }
}
