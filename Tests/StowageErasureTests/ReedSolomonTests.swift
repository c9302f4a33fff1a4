@testable import StowageErasure
import Testing

/// A seeded generator, so a failing case replays.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// GF(2⁸) with the polynomial x⁸+x⁴+x³+x²+1 (0x11D), written out independently of ISA-L.
enum NaiveGF {
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var (a, b, product) = (UInt16(a), UInt16(b), UInt16(0))
        while b > 0 {
            if b & 1 == 1 { product ^= a }
            a <<= 1
            if a & 0x100 != 0 { a ^= 0x11D }
            b >>= 1
        }
        return UInt8(product)
    }

    static func inverse(_ a: UInt8) -> UInt8 {
        (1...255).map(UInt8.init).first { multiply(a, $0) == 1 } ?? 0
    }

    /// The parity ISA-L's documentation defines: the Cauchy rows 1/(i ⊕ j) times the data.
    static func cauchyParity(_ data: [[UInt8]], parityShards: Int) -> [[UInt8]] {
        let k = data.count
        return (k..<(k + parityShards)).map { row in
            var out = [UInt8](repeating: 0, count: data[0].count)
            for column in 0..<k {
                let coefficient = inverse(UInt8(row ^ column))
                for index in out.indices { out[index] ^= multiply(coefficient, data[column][index]) }
            }
            return out
        }
    }
}

func randomBlocks(_ count: Int, length: Int, using random: inout SplitMix64) -> [[UInt8]] {
    (0..<count).map { _ in (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) } }
}

/// Every set of up to `limit` indexes out of `n`.
func subsets(of n: Int, upTo limit: Int) -> [[Int]] {
    var result: [[Int]] = [[]]
    for size in 1...max(limit, 1) where size <= limit {
        func extend(_ prefix: [Int], from start: Int) {
            if prefix.count == size { result.append(prefix); return }
            for index in start..<n { extend(prefix + [index], from: index + 1) }
        }
        extend([], from: 0)
    }
    return result
}

@Suite("Reed-Solomon")
struct ReedSolomonTests {
    @Test("parity is the documented Cauchy code, computed independently", arguments: [(2, 1), (4, 2), (6, 3), (8, 4), (1, 1), (10, 6)])
    func knownAnswer(k: Int, m: Int) throws {
        var random = SplitMix64(state: UInt64(k * 100 + m))
        let data = randomBlocks(k, length: 256, using: &random)
        let code = try ReedSolomon(dataShards: k, parityShards: m)
        #expect(code.encode(data) == NaiveGF.cauchyParity(data, parityShards: m))
    }

    @Test("every pattern of up to m lost blocks is rebuilt, data and parity", arguments: [(2, 1), (4, 2), (6, 3), (8, 4)])
    func everyErasurePattern(k: Int, m: Int) throws {
        var random = SplitMix64(state: 42)
        let code = try ReedSolomon(dataShards: k, parityShards: m)
        let data = randomBlocks(k, length: 1_024, using: &random)
        let all = data + code.encode(data)
        var patterns = 0
        for lost in subsets(of: k + m, upTo: m) {
            var blocks: [[UInt8]?] = all
            for index in lost { blocks[index] = nil }
            #expect(try code.reconstruct(blocks) == all, "lost \(lost)")
            patterns += 1
        }
        #expect(patterns == subsets(of: k + m, upTo: m).count && patterns > k + m)
    }

    @Test("more than m lost blocks is an error, never wrong bytes")
    func tooFew() throws {
        let code = try ReedSolomon(dataShards: 4, parityShards: 2)
        var random = SplitMix64(state: 7)
        let data = randomBlocks(4, length: 64, using: &random)
        var blocks: [[UInt8]?] = data + code.encode(data)
        blocks[0] = nil; blocks[2] = nil; blocks[5] = nil
        #expect(throws: ErasureError.tooFewShards(available: 3, needed: 4)) { try code.reconstruct(blocks) }
    }

    @Test("random geometries, lengths and losses (seeded)")
    func randomProperty() throws {
        var random = SplitMix64(state: 2026_12_03)
        for round in 0..<300 {
            let k = Int.random(in: 1...12, using: &random)
            let m = Int.random(in: 0...min(4, ReedSolomon.maxShards - k), using: &random)
            let length = Int.random(in: 0...700, using: &random)
            let code = try ReedSolomon(dataShards: k, parityShards: m)
            let data = randomBlocks(k, length: length, using: &random)
            let all = data + code.encode(data)
            var blocks: [[UInt8]?] = all
            let lost = Array((0..<(k + m)).shuffled(using: &random).prefix(Int.random(in: 0...m, using: &random)))
            for index in lost { blocks[index] = nil }
            #expect(try code.reconstruct(blocks) == all, "round \(round): k=\(k) m=\(m) length=\(length) lost=\(lost)")
            // A heal asks only for what is missing.
            #expect(try code.reconstruct(blocks, wanting: lost.sorted()) == lost.sorted().map { all[$0] })
        }
    }

    @Test("geometry limits: k ≥ 1, m ≥ 0, k+m ≤ 16")
    func limits() throws {
        #expect(throws: ErasureError.self) { try ReedSolomon(dataShards: 0, parityShards: 2) }
        #expect(throws: ErasureError.self) { try ReedSolomon(dataShards: 12, parityShards: 5) }
        #expect(throws: ErasureError.self) { try ReedSolomon(dataShards: 4, parityShards: -1) }
        let plain = try ReedSolomon(dataShards: 3, parityShards: 0)
        #expect(plain.encode([[1], [2], [3]]).isEmpty)
        _ = try ReedSolomon(dataShards: 16, parityShards: 0)
        _ = try ReedSolomon(dataShards: 8, parityShards: 8)
    }

    @Test("the Swift GF(2⁸) multiply the decoder uses matches the written-out field")
    func fieldMultiply() {
        var mismatches = 0
        for a in 0...255 {
            for b in 0...255 where GF256.multiply(UInt8(a), UInt8(b)) != NaiveGF.multiply(UInt8(a), UInt8(b)) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
