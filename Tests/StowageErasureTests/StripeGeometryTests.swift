import StowageErasure
import Testing

@Suite("Stripe geometry and chunk coding")
struct StripeGeometryTests {
    @Test("chunks, block sizes and shard-file offsets")
    func geometry() throws {
        let mib = 1 << 20
        let g = try StripeGeometry(dataShards: 4, parityShards: 2, chunkSize: 4 * mib, objectSize: Int64(10 * mib))
        #expect(g.chunks == 3)
        #expect(g.range(ofChunk: 2) == Int64(8 * mib)..<Int64(10 * mib))
        #expect(g.fullBlockSize == mib)
        #expect(g.blockSize(chunk: 0) == mib && g.blockSize(chunk: 2) == mib / 2)
        #expect(g.shardFileOffset(ofChunk: 1) == Int64(4 + mib))
        #expect(g.shardFileLength == Int64(2 * (4 + mib) + 4 + mib / 2))
        #expect(g.chunks(covering: Int64(4 * mib - 1)..<Int64(4 * mib + 1)) == 0...1)
        #expect(g.chunks(covering: Int64(9 * mib)..<Int64(20 * mib)) == 2...2)
        #expect(g.chunks(covering: 5..<5) == nil)

        // Blocks are whole multiples of 64 bytes: 3 data shards of a 1,000-byte object.
        let odd = try StripeGeometry(dataShards: 3, parityShards: 1, chunkSize: 4 * mib, objectSize: 1_000)
        #expect(odd.chunks == 1 && odd.blockSize(chunk: 0) == 384)
        let empty = try StripeGeometry(dataShards: 4, parityShards: 2, chunkSize: 4 * mib, objectSize: 0)
        #expect(empty.chunks == 0 && empty.shardFileLength == 0)
        #expect(throws: ErasureError.self) { try StripeGeometry(dataShards: 4, parityShards: 2, chunkSize: 0, objectSize: 1) }
    }

    @Test("a chunk survives m lost blocks and m corrupted ones, and fails cleanly past that")
    func chunkRoundTrip() throws {
        var random = SplitMix64(state: 99)
        let objectSize = 3 * 4_096 + 1_234
        let g = try StripeGeometry(dataShards: 4, parityShards: 2, chunkSize: 4_096, objectSize: Int64(objectSize))
        let stripe = StripeCoder(g)
        let object = (0..<objectSize).map { _ in UInt8.random(in: 0...255, using: &random) }
        for chunk in 0..<g.chunks {
            let range = g.range(ofChunk: chunk)
            let bytes = Array(object[Int(range.lowerBound)..<Int(range.upperBound)])
            let blocks = stripe.encode(chunk: chunk, bytes: bytes)
            #expect(blocks.count == 6 && blocks.allSatisfy { $0.bytes.count == g.blockSize(chunk: chunk) && $0.isIntact })
            #expect(try stripe.decode(chunk: chunk, blocks: blocks) == bytes)

            var damaged: [StripeCoder.Block?] = blocks
            damaged[1] = nil
            damaged[3]!.bytes[7] ^= 0x40   // caught by its CRC32C: counts as lost
            #expect(try stripe.decode(chunk: chunk, blocks: damaged) == bytes)

            damaged[5] = nil
            #expect(throws: ErasureError.tooFewShards(available: 3, needed: 4)) { try stripe.decode(chunk: chunk, blocks: damaged) }
        }
    }
}
