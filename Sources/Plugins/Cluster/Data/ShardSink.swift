public import NIOCore
public import StowageCore

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
    /// `length` bytes from `offset` on, as a stream the reader takes from in order; nil when
    /// the peer cannot stream them (the reader then asks chunk by chunk).
    func stream(at offset: Int64, length: Int64) async -> ShardByteStream?
}

extension RemoteShardReader {
    public func stream(at offset: Int64, length: Int64) async -> ShardByteStream? { nil }
}

/// A remote shard's bytes arriving in order: ``take(_:)`` hands out exactly the next `count`
/// bytes, however the transport cut them. Once the stream fails or ends short, every later
/// take gives nil (the reader falls back to asking per chunk).
public actor ShardByteStream {
    private var iterator: S3Body.AsyncIterator?
    private var pending = ByteBuffer()

    public init(_ body: S3Body) {
        iterator = body.makeAsyncIterator()
    }

    public func take(_ count: Int) async -> ByteBuffer? {
        while pending.readableBytes < count {
            // Taken out while waiting: a take that overlapped this one (the reader never does
            // that) would find no stream rather than read from the middle of this one.
            guard var source = iterator else { return nil }
            iterator = nil
            let chunk: ByteBuffer?
            do {
                chunk = try await source.next(isolation: self)
            } catch {
                chunk = nil
            }
            iterator = source
            guard var chunk else {
                iterator = nil
                pending.clear()
                return nil
            }
            if pending.readableBytes == 0 && chunk.readableBytes >= count {
                // The common case: a piece as large as the record, or larger (no copy).
                let taken = chunk.readSlice(length: count)
                pending = chunk
                return taken
            }
            pending.discardReadBytes()
            pending.writeBuffer(&chunk)
        }
        return pending.readSlice(length: count)
    }
}
