/// SipHash-2-4 (Aumasson and Bernstein), the keyed hash that places keys in erasure sets:
/// every node computes the same value from the deployment's key, and nobody without it can
/// aim many keys at one set.
///
/// ```swift
/// let key = SipHash24.Key(bytes: Array(0..<16))
/// SipHash24.hash([], key: key)    // 0x726fdb47dd0e0e31, the paper's first test vector
/// ```
public enum SipHash24 {
    public struct Key: Sendable, Hashable {
        public let k0: UInt64
        public let k1: UInt64

        /// 16 bytes, read as two little-endian words.
        public init(bytes: [UInt8]) {
            precondition(bytes.count == 16, "a SipHash key is 16 bytes")
            k0 = littleEndianWord(bytes, at: 0)
            k1 = littleEndianWord(bytes, at: 8)
        }
    }

    public static func hash(_ message: [UInt8], key: Key) -> UInt64 {
        var v0: UInt64 = 0x736F_6D65_7073_6575 ^ key.k0
        var v1: UInt64 = 0x646F_7261_6E64_6F6D ^ key.k1
        var v2: UInt64 = 0x6C79_6765_6E65_7261 ^ key.k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ key.k1

        func round() {
            v0 &+= v1; v1 = rotate(v1, 13); v1 ^= v0; v0 = rotate(v0, 32)
            v2 &+= v3; v3 = rotate(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotate(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotate(v1, 17); v1 ^= v2; v2 = rotate(v2, 32)
        }

        let whole = message.count / 8 * 8
        var offset = 0
        while offset < whole {
            let word = littleEndianWord(message, at: offset)
            v3 ^= word
            round(); round()
            v0 ^= word
            offset += 8
        }
        var last = UInt64(truncatingIfNeeded: message.count) << 56
        for (shift, byte) in message[whole...].enumerated() { last |= UInt64(byte) << (8 * UInt64(shift)) }
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }

    private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 { value << bits | value >> (64 - bits) }
}

private func littleEndianWord(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    var word: UInt64 = 0
    for index in 0..<8 { word |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
    return word
}
