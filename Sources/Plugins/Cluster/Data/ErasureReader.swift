public import NIOCore
public import StowageErasure
import StowageCore

/// Where one shard's bytes are read from: an open shard file, or a shard kept inline.
public enum ShardSource: Sendable {
    case file(ShardFile)
    case inline([UInt8])
    /// An inline shard fetched only if the read needs it (parity, for a degraded read).
    case fetch(@Sendable () -> [UInt8]?)

    func read(at offset: Int64, length: Int) -> [UInt8]? {
        switch self {
        case .file(let file): return file.read(at: offset, length: length)
        case .inline(let bytes): return Self.slice(bytes, offset, length)
        case .fetch(let fetch): return fetch().flatMap { Self.slice($0, offset, length) }
        }
    }

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

        public mutating func next() async throws -> ByteBuffer? {
            guard chunk <= lastChunk else { return nil }
            defer { chunk += 1 }
            let sequence = self.sequence, chunk = self.chunk
            // Reading and decoding a chunk takes milliseconds: off the event loop (Offload).
            return try await Offload.run(sequence.geometry.range(ofChunk: chunk).count >= 1 << 20) {
                try sequence.bytes(ofChunk: chunk)
            }
        }
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
            guard case .file(let file)? = sources[index],
                  let stored = file.readRecord(at: geometry.shardFileOffset(ofChunk: chunk), blockLength: size, into: &buffer)
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
        guard sources.allSatisfy({ source in if case .inline? = source { return false } else { if case .fetch? = source { return false }; return true } }) else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: (k + code.parityShards) * size)
        var intact: [Int] = []
        var missing: [Int] = []
        // Data blocks at [i·size], parity blocks after them, in the order they are read.
        for index in 0..<code.totalShards {
            if index >= k && intact.count == k { break }
            let start = buffer.writerIndex
            var good = false
            if case .file(let file)? = sources[index], let stored = file.readRecord(at: offset, blockLength: size, into: &buffer) {
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
