public import NIOCore
public import StowageErasure
import StowageCore

/// Streams an object's bytes into k+m shards as they arrive (CLUSTER.md §2): bytes gather
/// into one chunk (4 MiB by default), each full chunk is encoded and its blocks written, each
/// with its CRC32C, to the shard files; memory stays at one chunk and its blocks. A body that
/// ends within `inlineLimit` never touches a file: its shards are returned as bytes for the
/// drives' catalogs. A drive whose file cannot be written is dropped and the write goes on
/// while enough shards remain.
///
/// ```swift
/// var writer = ErasureWriter(code: rs, chunkSize: 4 << 20, inlineLimit: 128 << 10, needed: 5) { shard in
///     .file(try ShardFile.create(layouts[order[shard]].shardPath(dataRef: ref, part: 1, slot: order[shard])))
/// }
/// for try await buffer in body { try await writer.write(buffer) }
/// let shards = try await writer.finish(sync: durable)
/// ```
public struct ErasureWriter {
    public enum Shard: Sendable {
        case file(ShardSink)
        /// The whole shard (`[crc32c][block]`), for a drive's inline table.
        case inline([UInt8])
        case failed(String)

        public var isWritten: Bool { if case .failed = self { return false } else { return true } }
    }

    public struct TooFewDrives: Error, CustomStringConvertible {
        public let written: Int
        public let needed: Int
        public let failures: [String]
        public var description: String {
            "only \(written) shards could be written, \(needed) are needed: " + failures.joined(separator: "; ")
        }
    }

    public let code: ReedSolomon
    public let chunkSize: Int
    public let inlineLimit: Int
    /// Shards that must be written for the write to go on (W_data).
    public let needed: Int
    private let openFile: (Int) throws -> ShardSink
    private var pending: [UInt8] = []
    private var parity: [UInt8] = []
    private var chunk = 0
    private var files: [ShardSink?]?
    private var failures: [Int: String] = [:]
    public private(set) var size: Int64 = 0

    public init(code: ReedSolomon, chunkSize: Int, inlineLimit: Int, needed: Int, openFile: @escaping (Int) throws -> ShardSink) {
        precondition(inlineLimit <= chunkSize)
        self.code = code
        self.chunkSize = chunkSize
        self.inlineLimit = inlineLimit
        self.needed = needed
        self.openFile = openFile
        pending.reserveCapacity(min(chunkSize, 1 << 20))
    }

    /// The block size of a full chunk: shard files place chunk c at c·(4 + this).
    public var fullBlockSize: Int { StripeGeometry.blockSize(forChunkLength: chunkSize, dataShards: code.dataShards) }

    public mutating func write(_ buffer: ByteBuffer) async throws {
        size += Int64(buffer.readableBytes)
        var rest = buffer
        while rest.readableBytes > 0 {
            let take = min(rest.readableBytes, chunkSize - pending.count)
            rest.withUnsafeReadableBytes { pending.append(contentsOf: $0.prefix(take)) }
            rest.moveReaderIndex(forwardBy: take)
            if pending.count == chunkSize { try await flush() }
        }
    }

    /// Gives every shard up (the write failed): streams to other nodes are reset, so no peer
    /// keeps a partial shard as if it were whole.
    public func abandon() {
        for case .stream(let stream)? in files ?? [] { stream.abandon() }
    }

    /// Ends the body: the last (short) chunk is written and, with `sync`, every file synced.
    /// Returns each shard by shard index.
    public mutating func finish(sync: Bool) async throws -> [Shard] {
        if files == nil && size <= Int64(inlineLimit) {
            let geometry = try StripeGeometry(dataShards: code.dataShards, parityShards: code.parityShards, chunkSize: chunkSize, objectSize: size)
            guard size > 0 else { return Array(repeating: .inline([]), count: code.totalShards) }
            let blocks = StripeCoder(geometry).encode(chunk: 0, bytes: pending)
            return blocks.map { block in
                var record = withUnsafeBytes(of: block.crc32c.bigEndian) { Array($0) }
                record.append(contentsOf: block.bytes)
                return .inline(record)
            }
        }
        if !pending.isEmpty { try await flush() }
        var shards: [Shard] = []
        for (index, file) in (files ?? []).enumerated() {
            guard let file else {
                shards.append(.failed(failures[index] ?? "not written"))
                continue
            }
            do {
                try await file.finish(sync: sync)
                shards.append(.file(file))
            } catch {
                failures[index] = "\(error)"
                shards.append(.failed("\(error)"))
            }
        }
        try requireEnough()
        return shards
    }

    /// Codes the gathered chunk in place: `pending`, padded, is the k data blocks end to end;
    /// parity goes to a buffer kept across chunks; no block is copied or allocated.
    private mutating func flush() async throws {
        if files == nil {
            openFiles()
            pending.reserveCapacity(code.dataShards * fullBlockSize)
        }
        let k = code.dataShards
        let size = pending.count == chunkSize ? fullBlockSize : StripeGeometry.blockSize(forChunkLength: pending.count, dataShards: k)
        if pending.count < k * size { pending.append(contentsOf: repeatElement(0, count: k * size - pending.count)) }
        if parity.count < code.parityShards * size { parity = [UInt8](repeating: 0, count: code.parityShards * size) }
        let offset = Int64(chunk) * Int64(StripeGeometry.checksumLength + fullBlockSize)
        var failed: [(Int, String)] = []
        // Files are written in place; streams get a copy, sent once the buffers are let go.
        var copies: [(Int, ByteBuffer)] = []
        pending.withUnsafeBytes { data in
            parity.withUnsafeMutableBytes { parityBytes in
                let blocks = (0..<k).map { UnsafeRawBufferPointer(rebasing: data[($0 * size)..<(($0 + 1) * size)]) }
                    + (0..<code.parityShards).map { UnsafeRawBufferPointer(rebasing: parityBytes[($0 * size)..<(($0 + 1) * size)]) }
                code.encode(
                    data: blocks.prefix(k).map { $0.baseAddress! },
                    parity: (0..<code.parityShards).map { parityBytes.baseAddress! + $0 * size }, length: size)
                for (index, block) in blocks.enumerated() {
                    switch files?[index] {
                    case .file(let file)?:
                        do {
                            try file.writeRecord(crc32c: Checksums.crc32c(block), block: block, at: offset)
                        } catch {
                            failed.append((index, "\(error)"))
                        }
                    case .stream?:
                        var record = ByteBufferAllocator().buffer(capacity: StripeGeometry.checksumLength + block.count)
                        record.writeInteger(Checksums.crc32c(block))
                        record.writeBytes(block)
                        copies.append((index, record))
                    case nil:
                        break
                    }
                }
            }
        }
        for (index, record) in copies {
            guard case .stream(let stream)? = files?[index] else { continue }
            do {
                try await stream.append(record)
            } catch {
                stream.abandon()
                failed.append((index, "\(error)"))
            }
        }
        for (index, reason) in failed {
            failures[index] = reason
            files?[index] = nil
        }
        try requireEnough()
        chunk += 1
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func openFiles() {
        var opened: [ShardSink?] = []
        for index in 0..<code.totalShards {
            do {
                opened.append(try openFile(index))
            } catch {
                failures[index] = "\(error)"
                opened.append(nil)
            }
        }
        files = opened
    }

    private func requireEnough() throws {
        let written = files?.compactMap { $0 }.count ?? code.totalShards
        guard written >= needed else {
            throw TooFewDrives(written: written, needed: needed, failures: failures.sorted { $0.key < $1.key }.map(\.value))
        }
    }
}
