public import NIOCore
public import StowageErasure
import StowageCore

/// Where one shard's bytes are read from: an open shard file, or a shard kept inline.
public enum ShardSource: Sendable {
    case file(ShardFile)
    case inline([UInt8])
    /// An inline shard fetched only if the read needs it (parity, for a degraded read).
    case fetch(@Sendable () -> [UInt8]?)
    /// A shard on another node: the reader fetches the records a chunk needs before it
    /// decodes the chunk (as `window`s).
    case remote(any RemoteShardReader)
    /// The bytes of a shard from `offset` on, fetched from another node for one chunk.
    case window(offset: Int64, bytes: ByteBuffer)

    func read(at offset: Int64, length: Int) -> [UInt8]? {
        switch self {
        case .file(let file): return file.read(at: offset, length: length)
        case .inline(let bytes): return Self.slice(bytes, offset, length)
        case .fetch(let fetch): return fetch().flatMap { Self.slice($0, offset, length) }
        case .remote: return nil
        case .window(let start, let bytes):
            guard offset >= start, let slice = bytes.getBytes(at: bytes.readerIndex + Int(offset - start), length: length) else { return nil }
            return slice
        }
    }

    /// One `[crc32c][block]` record, the block appended to `buffer`; returns the stored
    /// CRC32C, or nil (buffer unchanged) when this source cannot give it without a copy.
    func readRecord(at offset: Int64, blockLength: Int, into buffer: inout ByteBuffer) -> UInt32? {
        switch self {
        case .file(let file):
            return file.readRecord(at: offset, blockLength: blockLength, into: &buffer)
        case .window(let start, let bytes):
            guard offset >= start else { return nil }
            let at = bytes.readerIndex + Int(offset - start)
            guard let crc = bytes.getInteger(at: at, as: UInt32.self),
                  let block = bytes.getSlice(at: at + StripeGeometry.checksumLength, length: blockLength) else { return nil }
            buffer.writeImmutableBuffer(block)
            return crc
        default:
            return nil
        }
    }

    var isRemote: Bool { if case .remote = self { return true } else { return false } }

    private static func slice(_ bytes: [UInt8], _ offset: Int64, _ length: Int) -> [UInt8]? {
        guard offset >= 0, Int(offset) + length <= bytes.count else { return nil }
        return Array(bytes[Int(offset)..<(Int(offset) + length)])
    }
}

/// The bytes of a byte range of an erasure-coded object, one chunk per `next()`, read only
/// when the consumer asks (so a slow client holds one chunk, not the object). Each chunk is
/// read from the k data shards; a block that is missing or fails its CRC32C brings in the
/// parity shards and the chunk is reconstructed.
///
/// ```swift
/// let bytes = ErasureReadSequence(geometry: geometry, sources: shardSources, range: 0..<size)
/// for try await buffer in bytes { ... }     // S3Body(stream: bytes, length: size)
/// ```
public struct ErasureReadSequence: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    public let geometry: StripeGeometry
    /// By shard index; nil for a shard that cannot be read (offline drive, missing file).
    public let sources: [ShardSource?]
    public let range: Range<Int64>
    /// Called once per chunk that needed reconstruction (for the healer's queue and metrics).
    public let onDegraded: @Sendable (_ chunk: Int) -> Void

    public init(
        geometry: StripeGeometry, sources: [ShardSource?], range: Range<Int64>,
        onDegraded: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.geometry = geometry
        self.sources = sources
        self.range = range
        self.onDegraded = onDegraded
    }

    /// Not enough intact shards for a chunk.
    public struct Unreadable: Error, CustomStringConvertible {
        public let chunk: Int
        public let reason: String
        public var description: String { "chunk \(chunk) cannot be read: \(reason)" }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: ErasureReadSequence
        var chunk: Int
        let lastChunk: Int
        /// The next chunks' remote records, already on their way (see ``RemoteReadAhead``).
        var readAhead: [RemoteReadAhead] = []
        /// For a read of several chunks: the remote data shards' records as one stream each,
        /// by shard index (opened at the first chunk; a shard whose stream fails is asked per
        /// chunk from then on).
        var streams: [Int: ShardByteStream]?
        /// Two chunks ahead: a remote record takes milliseconds to arrive, and with one chunk
        /// ahead the network still idled while a chunk was decoded and sent (64 MiB GETs from
        /// three nodes: ~360 MB/s with one ahead, ~460 with two, no gain with three). A read
        /// holds at most this many chunks' remote records besides its own.
        static let readAheadDepth = 2

        init(sequence: ErasureReadSequence, chunk: Int, lastChunk: Int) {
            self.sequence = sequence
            self.chunk = chunk
            self.lastChunk = lastChunk
        }

        public mutating func next() async throws -> ByteBuffer? {
            guard chunk <= lastChunk else { return nil }
            defer { chunk += 1 }
            let sequence = self.sequence, chunk = self.chunk
            // Reading and decoding a chunk takes milliseconds: off the event loop (Offload).
            let heavy = sequence.geometry.range(ofChunk: chunk).count >= 1 << 20
            guard sequence.sources.contains(where: { $0?.isRemote ?? false }) else {
                return try await Offload.run(heavy) { try sequence.bytes(ofChunk: chunk) }
            }
            // Shards on other nodes: the data shards' records first, parity only when a data
            // shard is missing or fails its check. Over several chunks each remote data shard
            // streams (flow control keeps it just ahead of this reader); a single chunk, or a
            // shard that cannot stream, is asked for per chunk, the next chunks' records asked
            // for now so the network works while this chunk is decoded and sent.
            if streams == nil {
                streams = chunk < lastChunk ? await sequence.openStreams(from: chunk, through: lastChunk) : [:]
            }
            if let open = streams, !open.isEmpty {
                let (first, failed) = await sequence.fetchingRemote(chunk: chunk, streams: open)
                for index in failed { streams?[index] = nil }
                do {
                    return try await Offload.run(heavy) { try first.bytes(ofChunk: chunk) }
                } catch is Unreadable {
                    // A record failed its check: parity now, keeping the records already here.
                    let all = await first.fetchingRemote(chunk: chunk, parity: true)
                    return try await Offload.run(heavy) { try all.bytes(ofChunk: chunk) }
                }
            }
            let fetched = readAhead.first?.chunk == chunk ? readAhead.removeFirst() : RemoteReadAhead(sequence, chunk: chunk)
            var next = (readAhead.last?.chunk ?? chunk) + 1
            while readAhead.count < Self.readAheadDepth, next <= lastChunk {
                readAhead.append(RemoteReadAhead(sequence, chunk: next))
                next += 1
            }
            let first = await fetched.value
            do {
                return try await Offload.run(heavy) { try first.bytes(ofChunk: chunk) }
            } catch is Unreadable {
                let all = await sequence.fetchingRemote(chunk: chunk, parity: true)
                return try await Offload.run(heavy) { try all.bytes(ofChunk: chunk) }
            }
        }
    }

    /// One chunk's remote data records, fetched in a task of their own. A reader that stops
    /// (the client went away) drops its iterator, and with it this: the fetch is cancelled.
    final class RemoteReadAhead: Sendable {
        let chunk: Int
        private let task: Task<ErasureReadSequence, Never>

        init(_ sequence: ErasureReadSequence, chunk: Int) {
            self.chunk = chunk
            task = Task { await sequence.fetchingRemote(chunk: chunk, parity: false) }
        }

        /// The fetched records; a reader cancelled meanwhile (its request ended) cancels the
        /// fetch rather than waiting it out.
        var value: ErasureReadSequence {
            get async {
                let task = self.task
                return await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
            }
        }

        deinit { task.cancel() }
    }

    /// A stream of the records of chunks `first...last` from each remote data shard that can
    /// give one (opened concurrently).
    func openStreams(from first: Int, through last: Int) async -> [Int: ShardByteStream] {
        let k = geometry.code.dataShards
        let offset = geometry.shardFileOffset(ofChunk: first)
        let end = geometry.shardFileOffset(ofChunk: last) + Int64(StripeGeometry.checksumLength + geometry.blockSize(chunk: last))
        return await withTaskGroup(of: (Int, ShardByteStream?).self) { group in
            for (index, source) in sources.enumerated().prefix(k) {
                guard case .remote(let reader)? = source else { continue }
                group.addTask { (index, await reader.stream(at: offset, length: end - offset)) }
            }
            var streams: [Int: ShardByteStream] = [:]
            for await (index, stream) in group { streams[index] = stream }
            return streams
        }
    }

    /// This sequence with `chunk`'s remote data records taken from `streams` (in order) and
    /// the other remote shards it needs fetched per chunk (parity too when a data shard is
    /// missing); also the shards whose stream failed (fetched per chunk instead).
    func fetchingRemote(chunk: Int, streams: [Int: ShardByteStream]) async -> (ErasureReadSequence, failed: [Int]) {
        let k = geometry.code.dataShards
        let offset = geometry.shardFileOffset(ofChunk: chunk)
        let length = StripeGeometry.checksumLength + geometry.blockSize(chunk: chunk)
        let dataMissing = sources.prefix(k).contains { $0 == nil }
        var resolved = sources
        var failed: [Int] = []
        await withTaskGroup(of: (Int, ShardSource?, Bool).self) { group in
            for (index, source) in sources.enumerated() {
                guard case .remote(let reader)? = source, index < k || dataMissing else { continue }
                let stream = streams[index]
                group.addTask {
                    if let stream, let bytes = await stream.take(length) { return (index, .window(offset: offset, bytes: bytes), false) }
                    return (index, await reader.read(at: offset, length: length).map { .window(offset: offset, bytes: $0) }, stream != nil)
                }
            }
            for await (index, source, streamFailed) in group {
                resolved[index] = source
                if streamFailed { failed.append(index) }
            }
        }
        return (ErasureReadSequence(geometry: geometry, sources: resolved, range: range, onDegraded: onDegraded), failed)
    }

    /// This sequence with the remote shards' records of `chunk` fetched (concurrently) into
    /// windows: the data shards', and the parity shards' when `parity` or a data shard is
    /// missing. A record that cannot be fetched leaves its shard missing.
    func fetchingRemote(chunk: Int, parity: Bool) async -> ErasureReadSequence {
        let k = geometry.code.dataShards
        let offset = geometry.shardFileOffset(ofChunk: chunk)
        let length = StripeGeometry.checksumLength + geometry.blockSize(chunk: chunk)
        let dataMissing = sources.prefix(k).contains { $0 == nil }
        var resolved = sources
        await withTaskGroup(of: (Int, ShardSource?).self) { group in
            for (index, source) in sources.enumerated() {
                guard case .remote(let reader)? = source, index < k || parity || dataMissing else { continue }
                group.addTask { (index, await reader.read(at: offset, length: length).map { .window(offset: offset, bytes: $0) }) }
            }
            for await (index, source) in group { resolved[index] = source }
        }
        return ErasureReadSequence(geometry: geometry, sources: resolved, range: range, onDegraded: onDegraded)
    }

    public func makeAsyncIterator() -> AsyncIterator {
        guard let chunks = geometry.chunks(covering: range) else {
            return AsyncIterator(sequence: self, chunk: 1, lastChunk: 0)
        }
        return AsyncIterator(sequence: self, chunk: chunks.lowerBound, lastChunk: chunks.upperBound)
    }

    /// The wanted bytes of `chunk`: straight from the k data shards into one buffer when they
    /// are all there and intact (one copy), else through reconstruction.
    func bytes(ofChunk chunk: Int) throws -> ByteBuffer {
        let chunkRange = geometry.range(ofChunk: chunk)
        let wanted = range.clamped(to: chunkRange)
        let start = Int(wanted.lowerBound - chunkRange.lowerBound)
        let end = Int(wanted.upperBound - chunkRange.lowerBound)
        if let buffer = dataBlocks(chunk: chunk, through: end) {
            return buffer.getSlice(at: buffer.readerIndex + start, length: end - start)!
        }
        onDegraded(chunk)
        if let buffer = try rebuiltBlocks(chunk: chunk) {
            return buffer.getSlice(at: buffer.readerIndex + start, length: end - start)!
        }
        let bytes = try decode(chunk: chunk, reported: true)
        var buffer = ByteBufferAllocator().buffer(capacity: end - start)
        _ = bytes.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        return buffer
    }

    /// The chunk's data blocks up to byte `end`, each checked against its CRC32C; nil when one
    /// is not a file, cannot be read or fails its check.
    private func dataBlocks(chunk: Int, through end: Int) -> ByteBuffer? {
        let size = geometry.blockSize(chunk: chunk)
        let needed = (end + size - 1) / size
        var buffer = ByteBufferAllocator().buffer(capacity: needed * size)
        for index in 0..<needed {
            guard let stored = sources[index]?.readRecord(at: geometry.shardFileOffset(ofChunk: chunk), blockLength: size, into: &buffer)
            else { return nil }
            let start = buffer.writerIndex - size
            let actual = buffer.withUnsafeReadableBytes { Checksums.crc32c(UnsafeRawBufferPointer(rebasing: $0[start..<(start + size)])) }
            guard actual == stored else { return nil }
        }
        return buffer
    }

    /// A degraded chunk with one buffer and no other large allocation: the data blocks that
    /// can be read go straight to their places, parity blocks are read only as needed, and the
    /// missing data blocks are rebuilt in place. Nil when the shards are not all files (the
    /// general path handles inline shards).
    private func rebuiltBlocks(chunk: Int) throws -> ByteBuffer? {
        let code = geometry.code
        let k = code.dataShards
        let size = geometry.blockSize(chunk: chunk)
        let offset = geometry.shardFileOffset(ofChunk: chunk)
        guard sources.allSatisfy({ source in
            switch source {
            case .inline?, .fetch?: return false
            default: return true
            }
        }) else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: (k + code.parityShards) * size)
        var intact: [Int] = []
        var missing: [Int] = []
        // Data blocks at [i·size], parity blocks after them, in the order they are read.
        for index in 0..<code.totalShards {
            if index >= k && intact.count == k { break }
            let start = buffer.writerIndex
            var good = false
            if let stored = sources[index]?.readRecord(at: offset, blockLength: size, into: &buffer) {
                good = buffer.withUnsafeReadableBytes { Checksums.crc32c(UnsafeRawBufferPointer(rebasing: $0[start..<(start + size)])) } == stored
            }
            if !good {
                buffer.moveWriterIndex(to: start)
                if index < k {
                    buffer.writeRepeatingByte(0, count: size)  // its place, rebuilt below
                    missing.append(index)
                }
                continue
            }
            intact.append(index)
        }
        guard intact.count == k else {
            throw Unreadable(chunk: chunk, reason: "\(intact.count) intact blocks of \(code.totalShards), \(k) needed")
        }
        // Where each read block sits: data block i at i·size, parity blocks in read order after k·size.
        var position: [Int: Int] = [:]
        var parityPlace = k * size
        for index in intact {
            if index < k { position[index] = index * size } else { position[index] = parityPlace; parityPlace += size }
        }
        try buffer.withUnsafeMutableReadableBytes { raw in
            let base = raw.baseAddress!
            try code.reconstruct(
                sources: intact.map { ($0, UnsafeRawPointer(base + position[$0]!)) },
                into: missing.map { ($0, base + $0 * size) }, length: size)
        }
        return buffer
    }

    func decode(chunk: Int, reported: Bool = false) throws -> [UInt8] {
        let coder = StripeCoder(geometry)
        let k = geometry.code.dataShards
        var blocks = [StripeCoder.Block?](repeating: nil, count: geometry.code.totalShards)
        for index in 0..<k { blocks[index] = block(shard: index, chunk: chunk) }
        if blocks.prefix(k).allSatisfy({ $0?.isIntact ?? false }) {
            return try coder.decode(chunk: chunk, blocks: blocks)
        }
        if !reported { onDegraded(chunk) }
        for index in k..<geometry.code.totalShards { blocks[index] = block(shard: index, chunk: chunk) }
        do {
            return try coder.decode(chunk: chunk, blocks: blocks)
        } catch {
            let intact = blocks.filter { $0?.isIntact ?? false }.count
            throw Unreadable(chunk: chunk, reason: "\(intact) intact blocks of \(blocks.count), \(k) needed")
        }
    }

    private func block(shard: Int, chunk: Int) -> StripeCoder.Block? {
        guard let source = sources[shard] else { return nil }
        let size = geometry.blockSize(chunk: chunk)
        guard let record = source.read(at: geometry.shardFileOffset(ofChunk: chunk), length: StripeGeometry.checksumLength + size) else {
            return nil
        }
        let crc = record.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return StripeCoder.Block(crc32c: crc, bytes: Array(record[4...]))
    }
}
