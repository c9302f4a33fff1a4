public import NIOCore

/// Where the erasure writer puts one shard: a file on a drive of this node, written in place
/// from the coding buffers, or a stream to a drive on another node, which gets a copy of
/// each record and pushes back when the peer falls behind.
public enum ShardSink: Sendable {
    case file(ShardFile)
    case stream(any ShardStream)

    /// Ends the shard; with `sync`, it is on stable storage when this returns.
    func finish(sync: Bool) async throws {
        switch self {
        case .file(let file): if sync { try file.sync() }
        case .stream(let stream): try await stream.finish()
        }
    }
}

/// A shard written through something slower than a local file (the cluster transport). The
/// records arrive in file order, back to back.
///
/// ```swift
/// try await stream.append(record)   // waits while too much is in flight
/// try await stream.finish()         // the peer has it all (synced, if the stream was opened so)
/// ```
public protocol ShardStream: Sendable {
    /// Queues one `[crc32c][block]` record; waits while the bytes in flight pass a bound.
    func append(_ record: ByteBuffer) async throws
    /// Ends the shard and waits for the peer to confirm it whole.
    func finish() async throws
    /// Gives the shard up: the peer must not keep a partial file as if it were whole.
    func abandon()
}

/// Reads a shard on another node, a byte range at a time.
public protocol RemoteShardReader: Sendable {
    /// `length` bytes at `offset`; nil when the peer cannot give them all.
    func read(at offset: Int64, length: Int) async -> ByteBuffer?
}
