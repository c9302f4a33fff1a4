import Foundation
import NIOCore
import StowageCore
import StowageErasure
import Synchronization
import Testing
@testable import StowageCluster

/// A read of several chunks streams each remote data shard (`shardStream`, served by
/// ``ShardFileStream``) instead of asking chunk by chunk; a stream that cannot open or breaks
/// midway falls back to asking per chunk, and a corrupt record still brings in parity.
@Suite struct RemoteShardStreamTests {
    static let chunkSize = 64 << 10

    /// A shard on "another node": its file read through the server's stream in pieces of
    /// `piece` bytes, cut after `breakAfter` bytes if set; counts the per-chunk asks.
    final class FakeRemote: RemoteShardReader {
        let file: ShardFile
        let piece: Int
        let breakAfter: Int?
        let streams: Bool
        let chunkReads = Atomic<Int>(0)
        let opened = Atomic<Int>(0)

        init(path: String, piece: Int, breakAfter: Int? = nil, streams: Bool = true) {
            file = ShardFile.openForReading(path)!
            self.piece = piece
            self.breakAfter = breakAfter
            self.streams = streams
        }

        func read(at offset: Int64, length: Int) async -> ByteBuffer? {
            chunkReads.add(1, ordering: .relaxed)
            return file.read(at: offset, length: length).map { ByteBuffer(bytes: $0) }
        }

        func stream(at offset: Int64, length: Int64) async -> ShardByteStream? {
            guard streams else { return nil }
            opened.add(1, ordering: .relaxed)
            let source = ShardFileStream(file: file, range: offset..<offset + length)
            return ShardByteStream(S3Body(stream: Repieced(source: source, piece: piece, breakAfter: breakAfter), length: nil))
        }
    }

    /// Cuts a body into pieces of `piece` bytes (whatever the source's), failing after
    /// `breakAfter` bytes if set: a transport's arbitrary framing, and a peer that dies.
    struct Repieced: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        typealias Failure = any Error
        let source: ShardFileStream
        let piece: Int
        let breakAfter: Int?

        struct Broken: Error {}

        struct AsyncIterator: AsyncIteratorProtocol {
            var inner: ShardFileStream.AsyncIterator
            let piece: Int
            let breakAfter: Int?
            var pending = ByteBuffer()
            var sent = 0

            mutating func next() async throws -> ByteBuffer? {
                while pending.readableBytes < piece, var more = try await inner.next() { pending.writeBuffer(&more) }
                guard pending.readableBytes > 0 else { return nil }
                let out = pending.readSlice(length: Swift.min(piece, pending.readableBytes))!
                sent += out.readableBytes
                if let breakAfter, sent > breakAfter { throw Broken() }
                return out
            }
        }

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(inner: source.makeAsyncIterator(), piece: piece, breakAfter: breakAfter)
        }
    }

    typealias Scratch = ShardScratch

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] { ShardScratch.bytes(count, seed: seed) }

    /// `data` stored 4+2 in shard files (no inline shards: every shard is large enough).
    static func store(_ data: [UInt8], _ scratch: Scratch) async throws -> StripeGeometry {
        try FileManager.default.createDirectory(atPath: scratch.root, withIntermediateDirectories: true)
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        var writer = ErasureWriter(code: code, chunkSize: chunkSize, inlineLimit: 0, needed: 5) {
            .file(try ShardFile.create(scratch.path($0)))
        }
        try await writer.write(ByteBuffer(bytes: data))
        _ = try await writer.finish(sync: false)
        return try StripeGeometry(dataShards: 4, parityShards: 2, chunkSize: chunkSize, objectSize: Int64(data.count))
    }

    static func read(_ geometry: StripeGeometry, _ sources: [ShardSource?], _ range: Range<Int64>) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await buffer in ErasureReadSequence(geometry: geometry, sources: sources, range: range) {
            out.append(contentsOf: buffer.readableBytesView)
        }
        return out
    }

    @Test(arguments: [1, 1000, 4099, 300_000])
    func streamedRemoteShardsReadBackWhateverTheFraming(piece: Int) async throws {
        let scratch = Scratch()
        let data = Self.bytes(5 * Self.chunkSize + 12_345, seed: 7)
        let geometry = try await Self.store(data, scratch)
        // Shards 1 and 3 (data) and 5 (parity) on other nodes.
        let remotes = [1, 3, 5].map { ($0, FakeRemote(path: scratch.path($0), piece: piece)) }
        var sources: [ShardSource?] = (0..<6).map { ShardFile.openForReading(scratch.path($0)).map { .file($0) } }
        for (index, remote) in remotes { sources[index] = .remote(remote) }
        #expect(try await Self.read(geometry, sources, 0..<Int64(data.count)) == data)
        let range = 70_000..<300_001
        #expect(try await Self.read(geometry, sources, Int64(range.lowerBound)..<Int64(range.upperBound)) == Array(data[range]))
        // The data shards streamed and were never asked per chunk; parity was not needed.
        for (index, remote) in remotes {
            #expect(remote.chunkReads.load(ordering: .relaxed) == 0, "shard \(index)")
            #expect(remote.opened.load(ordering: .relaxed) == (index < 4 ? 2 : 0), "shard \(index)")
        }
    }

    @Test func aStreamThatBreaksOrCannotOpenFallsBackToChunks() async throws {
        let scratch = Scratch()
        let data = Self.bytes(6 * Self.chunkSize, seed: 9)
        let geometry = try await Self.store(data, scratch)
        let broken = FakeRemote(path: scratch.path(0), piece: 8192, breakAfter: 40_000)
        let refusing = FakeRemote(path: scratch.path(2), piece: 8192, streams: false)
        var sources: [ShardSource?] = (0..<6).map { ShardFile.openForReading(scratch.path($0)).map { .file($0) } }
        sources[0] = .remote(broken)
        sources[2] = .remote(refusing)
        #expect(try await Self.read(geometry, sources, 0..<Int64(data.count)) == data)
        #expect(broken.chunkReads.load(ordering: .relaxed) > 0 && broken.chunkReads.load(ordering: .relaxed) < 6)
        #expect(refusing.chunkReads.load(ordering: .relaxed) == 6)
    }

    @Test func aCorruptStreamedRecordIsRebuiltFromParity() async throws {
        let scratch = Scratch()
        let data = Self.bytes(4 * Self.chunkSize, seed: 11)
        let geometry = try await Self.store(data, scratch)
        // Flip a byte in chunk 2's block of shard 1.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: scratch.path(1)))
        let at = UInt64(geometry.shardFileOffset(ofChunk: 2) + 100)
        try handle.seek(toOffset: at)
        let original = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: [original ^ 0xff])
        try handle.close()
        let remote = FakeRemote(path: scratch.path(1), piece: 5000)
        let parity = FakeRemote(path: scratch.path(4), piece: 5000)
        var sources: [ShardSource?] = (0..<6).map { ShardFile.openForReading(scratch.path($0)).map { .file($0) } }
        sources[1] = .remote(remote)
        sources[4] = .remote(parity)
        sources[5] = nil  // the remote parity shard is the only way back
        #expect(try await Self.read(geometry, sources, 0..<Int64(data.count)) == data)
        #expect(parity.chunkReads.load(ordering: .relaxed) == 1)
    }

    @Test func withADataShardGoneParityComesOncePerChunkAndNothingTwice() async throws {
        let scratch = Scratch()
        let data = Self.bytes(5 * Self.chunkSize, seed: 13)
        let geometry = try await Self.store(data, scratch)
        let remote = FakeRemote(path: scratch.path(1), piece: 7000)
        let parity = FakeRemote(path: scratch.path(4), piece: 7000)
        var sources: [ShardSource?] = (0..<6).map { ShardFile.openForReading(scratch.path($0)).map { .file($0) } }
        sources[0] = nil  // its node is down
        sources[1] = .remote(remote)
        sources[4] = .remote(parity)
        sources[5] = nil
        let degraded = Atomic<Int>(0)
        var out: [UInt8] = []
        let sequence = ErasureReadSequence(geometry: geometry, sources: sources, range: 0..<Int64(data.count)) { _ in
            degraded.add(1, ordering: .relaxed)
        }
        for try await buffer in sequence { out.append(contentsOf: buffer.readableBytesView) }
        #expect(out == data)
        #expect(remote.chunkReads.load(ordering: .relaxed) == 0)
        #expect(parity.chunkReads.load(ordering: .relaxed) == 5)
        #expect(degraded.load(ordering: .relaxed) == 5)
    }
}
