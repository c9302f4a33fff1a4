import StowageCore

/// How an object's bytes map onto erasure-coded blocks (CLUSTER.md §2). The object is cut into
/// chunks of `chunkSize` bytes (the last may be short); each chunk into k blocks of
/// `blockSize(chunk:)` bytes (the last block zero-padded) plus m parity blocks. Each drive of
/// the stripe keeps one shard file per part: `[crc32c:4][block]` per chunk, so block `i` of a
/// full chunk starts at `i·(4+blockSize)` and a range read seeks straight to the chunks it needs.
///
/// ```swift
/// let geometry = try StripeGeometry(dataShards: 4, parityShards: 2, chunkSize: 4 << 20, objectSize: 10 << 20)
/// geometry.chunks                 // 3: two full chunks and a 2 MiB one
/// geometry.chunks(covering: 5_000_000..<5_000_100)   // 1...1
/// ```
public struct StripeGeometry: Sendable, Equatable {
    /// Blocks are a multiple of this, which keeps ISA-L on its vector paths.
    public static let blockAlignment = 64
    /// The length of the CRC32C before each block in a shard file.
    public static let checksumLength = 4

    public let code: ReedSolomon
    public let chunkSize: Int
    public let objectSize: Int64

    public init(dataShards: Int, parityShards: Int, chunkSize: Int, objectSize: Int64) throws(ErasureError) {
        guard chunkSize > 0, objectSize >= 0 else {
            throw .invalidGeometry("chunk size \(chunkSize) and object size \(objectSize) must be positive")
        }
        self.code = try ReedSolomon(dataShards: dataShards, parityShards: parityShards)
        self.chunkSize = chunkSize
        self.objectSize = objectSize
    }

    /// Chunks in the object (an empty object has none).
    public var chunks: Int { Int((objectSize + Int64(chunkSize) - 1) / Int64(chunkSize)) }

    /// The object's bytes in `chunk`.
    public func range(ofChunk chunk: Int) -> Range<Int64> {
        let start = Int64(chunk) * Int64(chunkSize)
        return start..<min(start + Int64(chunkSize), objectSize)
    }

    /// The block size of a full chunk: ⌈chunkSize / k⌉ rounded up to 64 bytes.
    public var fullBlockSize: Int { Self.blockSize(forChunkLength: chunkSize, dataShards: code.dataShards) }

    /// The block size of `chunk`: a short last chunk has shorter blocks (it is last in every
    /// shard file, so no offset depends on it).
    public func blockSize(chunk: Int) -> Int {
        let length = range(ofChunk: chunk).count
        return length == chunkSize ? fullBlockSize : Self.blockSize(forChunkLength: length, dataShards: code.dataShards)
    }

    public static func blockSize(forChunkLength length: Int, dataShards: Int) -> Int {
        let raw = (length + dataShards - 1) / dataShards
        return max(blockAlignment, (raw + blockAlignment - 1) / blockAlignment * blockAlignment)
    }

    /// Where `chunk`'s checksum and block start in every shard file of the stripe.
    public func shardFileOffset(ofChunk chunk: Int) -> Int64 {
        Int64(chunk) * Int64(Self.checksumLength + fullBlockSize)
    }

    /// The length of each shard file.
    public var shardFileLength: Int64 {
        guard chunks > 0 else { return 0 }
        return shardFileOffset(ofChunk: chunks - 1) + Int64(Self.checksumLength + blockSize(chunk: chunks - 1))
    }

    /// The chunks a byte range of the object touches (`nil` for an empty range).
    public func chunks(covering range: Range<Int64>) -> ClosedRange<Int>? {
        let clamped = range.clamped(to: 0..<objectSize)
        guard !clamped.isEmpty else { return nil }
        return Int(clamped.lowerBound / Int64(chunkSize))...Int((clamped.upperBound - 1) / Int64(chunkSize))
    }
}

/// Codes one chunk at a time: bytes → k+m blocks, each with its CRC32C; blocks (any k, checked)
/// → the chunk's bytes.
///
/// ```swift
/// let stripe = StripeCoder(geometry)
/// let blocks = stripe.encode(chunk: 0, bytes: firstChunk)     // k+m (crc32c, block) pairs
/// let bytes = try stripe.decode(chunk: 0, blocks: survivors)  // nil for lost or unread ones
/// ```
public struct StripeCoder: Sendable {
    public let geometry: StripeGeometry

    public init(_ geometry: StripeGeometry) { self.geometry = geometry }

    public struct Block: Sendable, Equatable {
        public var crc32c: UInt32
        public var bytes: [UInt8]

        public init(crc32c: UInt32, bytes: [UInt8]) {
            self.crc32c = crc32c
            self.bytes = bytes
        }

        public init(bytes: [UInt8]) { self.init(crc32c: Checksums.crc32c(bytes), bytes: bytes) }

        public var isIntact: Bool { Checksums.crc32c(bytes) == crc32c }
    }

    /// The k data blocks (zero-padded) and m parity blocks of `chunk`, whose bytes are given.
    public func encode(chunk: Int, bytes: [UInt8]) -> [Block] {
        let expected = geometry.range(ofChunk: chunk).count
        precondition(bytes.count == expected, "chunk \(chunk) has \(expected) bytes, not \(bytes.count)")
        let size = geometry.blockSize(chunk: chunk)
        let k = geometry.code.dataShards
        var data: [[UInt8]] = []
        data.reserveCapacity(k)
        for index in 0..<k {
            let start = min(index * size, bytes.count)
            let end = min(start + size, bytes.count)
            var block = Array(bytes[start..<end])
            if block.count < size { block.append(contentsOf: repeatElement(0, count: size - block.count)) }
            data.append(block)
        }
        let parity = geometry.code.encode(data)
        return (data + parity).map { Block(bytes: $0) }
    }

    /// The bytes of `chunk` from its blocks (`nil` where a block is lost or was not read).
    /// Blocks that fail their CRC32C count as lost; fewer than k intact ones throw.
    public func decode(chunk: Int, blocks: [Block?]) throws(ErasureError) -> [UInt8] {
        let code = geometry.code
        guard blocks.count == code.totalShards else {
            throw .invalidGeometry("\(blocks.count) blocks for a \(code.dataShards)+\(code.parityShards) stripe")
        }
        let size = geometry.blockSize(chunk: chunk)
        let intact: [[UInt8]?] = blocks.map { block in
            guard let block, block.bytes.count == size, block.isIntact else { return nil }
            return block.bytes
        }
        let data = try code.reconstruct(intact, wanting: Array(0..<code.dataShards))
        var bytes: [UInt8] = []
        let length = geometry.range(ofChunk: chunk).count
        bytes.reserveCapacity(length)
        for block in data where bytes.count < length {
            bytes.append(contentsOf: block.prefix(length - bytes.count))
        }
        return bytes
    }
}
