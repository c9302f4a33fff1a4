public import NIOCore
public import StowageErasure

/// Where one shard's bytes are read from: an open shard file, or a shard kept inline.
public enum ShardSource: Sendable {
    case file(ShardFile)
    case inline([UInt8])

    func read(at offset: Int64, length: Int) -> [UInt8]? {
        switch self {
        case .file(let file): return file.read(at: offset, length: length)
        case .inline(let bytes):
            guard offset >= 0, Int(offset) + length <= bytes.count else { return nil }
            return Array(bytes[Int(offset)..<(Int(offset) + length)])
        }
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
            let bytes = try sequence.decode(chunk: chunk)
            let chunkRange = sequence.geometry.range(ofChunk: chunk)
            let wanted = sequence.range.clamped(to: chunkRange)
            let start = Int(wanted.lowerBound - chunkRange.lowerBound)
            let end = Int(wanted.upperBound - chunkRange.lowerBound)
            var buffer = ByteBufferAllocator().buffer(capacity: end - start)
            _ = bytes.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        guard let chunks = geometry.chunks(covering: range) else {
            return AsyncIterator(sequence: self, chunk: 1, lastChunk: 0)
        }
        return AsyncIterator(sequence: self, chunk: chunks.lowerBound, lastChunk: chunks.upperBound)
    }

    func decode(chunk: Int) throws -> [UInt8] {
        let coder = StripeCoder(geometry)
        let k = geometry.code.dataShards
        var blocks = [StripeCoder.Block?](repeating: nil, count: geometry.code.totalShards)
        for index in 0..<k { blocks[index] = block(shard: index, chunk: chunk) }
        if blocks.prefix(k).allSatisfy({ $0?.isIntact ?? false }) {
            return try coder.decode(chunk: chunk, blocks: blocks)
        }
        onDegraded(chunk)
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
