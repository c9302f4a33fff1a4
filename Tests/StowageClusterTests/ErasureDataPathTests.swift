import Foundation
import Synchronization
import NIOCore
import Testing
import StowageErasure
@testable import StowageCluster

/// The streaming writer and the chunk reader on real shard files: sizes around every
/// boundary, ranges, lost and corrupted shards.
@Suite struct ErasureDataPathTests {
    static let chunkSize = 64 << 10
    static let inlineLimit = 16 << 10

    typealias Scratch = ShardScratch

    private func bytes(_ count: Int, seed: UInt64) -> [UInt8] { ShardScratch.bytes(count, seed: seed) }

    /// Writes `data` in uneven buffers; returns the shards and the geometry to read them with.
    private func store(_ data: [UInt8], scratch: Scratch, code: ReedSolomon) async throws -> ([ErasureWriter.Shard], StripeGeometry) {
        var writer = ErasureWriter(code: code, chunkSize: Self.chunkSize, inlineLimit: Self.inlineLimit, needed: code.dataShards + 1) {
            .file(try ShardFile.create(scratch.path($0)))
        }
        var offset = 0
        var step = 1
        while offset < data.count {
            let end = min(data.count, offset + step)
            try await writer.write(ByteBuffer(bytes: data[offset..<end]))
            offset = end
            step = step * 3 + 7
        }
        let shards = try await writer.finish(sync: false)
        let geometry = try StripeGeometry(
            dataShards: code.dataShards, parityShards: code.parityShards, chunkSize: Self.chunkSize, objectSize: Int64(data.count))
        return (shards, geometry)
    }

    private func sources(_ shards: [ErasureWriter.Shard], scratch: Scratch) -> [ShardSource?] {
        shards.enumerated().map { index, shard in
            switch shard {
            case .inline(let bytes): return .inline(bytes)
            case .file: return ShardFile.openForReading(scratch.path(index)).map { .file($0) }
            case .failed: return nil
            }
        }
    }

    private func read(_ geometry: StripeGeometry, _ sources: [ShardSource?], _ range: Range<Int64>) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await buffer in ErasureReadSequence(geometry: geometry, sources: sources, range: range) {
            out.append(contentsOf: buffer.readableBytesView)
        }
        return out
    }

    @Test(arguments: [0, 1, 4_000, 16 << 10, (16 << 10) + 1, 64 << 10, (64 << 10) + 1, 300_017])
    func roundTripsEverySize(size: Int) async throws {
        let scratch = Scratch()
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        let data = bytes(size, seed: UInt64(size))
        let (shards, geometry) = try await store(data, scratch: scratch, code: code)
        let inline = shards.allSatisfy { if case .inline = $0 { return true } else { return false } }
        #expect(inline == (size <= Self.inlineLimit))
        let sources = sources(shards, scratch: scratch)
        #expect(try await read(geometry, sources, 0..<Int64(size)) == data)
        if size > 10 {
            // Ranges inside one chunk, across chunk boundaries, to the end.
            for range in [1..<10, (size / 3)..<(size / 3 * 2), (size - 5)..<size] {
                #expect(try await read(geometry, sources, Int64(range.lowerBound)..<Int64(range.upperBound)) == Array(data[range]))
            }
        }
    }

    @Test func lostAndCorruptShardsAreReconstructed() async throws {
        let scratch = Scratch()
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        let data = bytes(200_000, seed: 42)
        let (shards, geometry) = try await store(data, scratch: scratch, code: code)
        var sources = sources(shards, scratch: scratch)
        // Two shards gone (a data and a parity one): still readable.
        sources[1] = nil
        sources[5] = nil
        #expect(try await read(geometry, sources, 0..<200_000) == data)
        // A flipped byte in another data shard's second block: its CRC fails, still readable
        // only if the parity survives, so restore shard 5 first.
        sources[5] = ShardFile.openForReading(scratch.path(5)).map { .file($0) }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: scratch.path(2)))
        let offset = geometry.shardFileOffset(ofChunk: 1) + 100
        try handle.seek(toOffset: UInt64(offset))
        let original = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [original ^ 0x40])
        try handle.close()
        let degraded = DegradedChunks()
        var collected: [UInt8] = []
        let sequence = ErasureReadSequence(geometry: geometry, sources: sources, range: 0..<200_000) { degraded.add($0) }
        for try await buffer in sequence { collected.append(contentsOf: buffer.readableBytesView) }
        #expect(collected == data)
        #expect(degraded.chunks.contains(1))
        // A third shard lost as well: chunk 1 now has only 3 intact blocks.
        sources[0] = nil
        await #expect(throws: ErasureReadSequence.Unreadable.self) { _ = try await self.read(geometry, sources, 0..<200_000) }
    }

    @Test func everyPatternOfLostShardsReadsBack() async throws {
        let scratch = Scratch()
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        let data = bytes(3 * Self.chunkSize + 12_345, seed: 7)
        let (shards, geometry) = try await store(data, scratch: scratch, code: code)
        let all = sources(shards, scratch: scratch)
        var patterns: [[Int]] = (0..<6).map { [$0] }
        for a in 0..<6 { for b in (a + 1)..<6 { patterns.append([a, b]) } }
        for lost in patterns {
            var degraded = all
            for index in lost { degraded[index] = nil }
            #expect(try await read(geometry, degraded, 0..<Int64(data.count)) == data, "lost \(lost)")
            let range = Int64(Self.chunkSize - 100)..<Int64(2 * Self.chunkSize + 50)
            #expect(try await read(geometry, degraded, range) == Array(data[Int(range.lowerBound)..<Int(range.upperBound)]), "lost \(lost)")
        }
    }

    @Test func aDriveThatCannotBeWrittenIsDroppedWhileEnoughRemain() async throws {
        let scratch = Scratch()
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        var writer = ErasureWriter(code: code, chunkSize: Self.chunkSize, inlineLimit: Self.inlineLimit, needed: 5) { shard in
            if shard == 3 { throw ShardFile.Failure(operation: "create", path: "offline", code: EIO) }
            return .file(try ShardFile.create(scratch.path(shard)))
        }
        try await writer.write(ByteBuffer(bytes: bytes(100_000, seed: 1)))
        let shards = try await writer.finish(sync: true)
        #expect(shards.map(\.isWritten) == [true, true, true, false, true, true])

        var failing = ErasureWriter(code: code, chunkSize: Self.chunkSize, inlineLimit: Self.inlineLimit, needed: 5) { shard in
            if shard >= 4 { throw ShardFile.Failure(operation: "create", path: "offline", code: EIO) }
            return .file(try ShardFile.create(scratch.path(shard + 10)))
        }
        await #expect(throws: ErasureWriter.TooFewDrives.self) { try await failing.write(ByteBuffer(bytes: self.bytes(100_000, seed: 2))) }
    }
}

final class DegradedChunks: Sendable {
    private let list = Mutex<[Int]>([])
    func add(_ chunk: Int) { list.withLock { $0.append(chunk) } }
    var chunks: [Int] { list.withLock { $0 } }
}
