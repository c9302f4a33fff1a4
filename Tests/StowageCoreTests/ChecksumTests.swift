import StowageCore
import Testing

@Suite("Checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256")
struct ChecksumTests {
    // The catalogue check values (CRC RevEng) for "123456789".
    @Test(arguments: [
        (ChecksumAlgorithm.crc32, "cbf43926"),
        (ChecksumAlgorithm.crc32c, "e3069283"),
        (ChecksumAlgorithm.crc64nvme, "ae8b14860a799888"),
        (ChecksumAlgorithm.sha1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
        (ChecksumAlgorithm.sha256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"),
    ])
    func checkValues(algorithm: ChecksumAlgorithm, hex: String) {
        #expect(Hex.encode(ChecksumHasher.checksum(algorithm, Array("123456789".utf8))) == hex)
    }

    /// Base64 values as they travel in x-amz-checksum-* headers ("Hello world" CRC32 is the
    /// value in AWS's checksum documentation); cross-checked with Python's zlib/hashlib and a
    /// bitwise CRC.
    @Test(arguments: [
        ("Hello world", ChecksumAlgorithm.crc32, "i9aeUg=="),
        ("Hello world", ChecksumAlgorithm.crc32c, "crUfeA=="),
        ("Hello world", ChecksumAlgorithm.crc64nvme, "OOJZ0D8xKts="),
        ("Hello world", ChecksumAlgorithm.sha1, "e1AsOh9IyGCa4hLN+2Od7jlnP14="),
        ("Hello world", ChecksumAlgorithm.sha256, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="),
        ("", ChecksumAlgorithm.crc32, "AAAAAA=="),
        ("", ChecksumAlgorithm.crc64nvme, "AAAAAAAAAAA="),
        ("a", ChecksumAlgorithm.crc32c, "wdBDMA=="),
        ("a", ChecksumAlgorithm.crc64nvme, "jC+ERbTL/Dw="),
    ])
    func headerValues(input: String, algorithm: ChecksumAlgorithm, base64: String) {
        #expect(Base64.encode(ChecksumHasher.checksum(algorithm, Array(input.utf8))) == base64)
    }

    @Test("CRC32C as a number: the standard check value")
    func crc32cValue() {
        #expect(Checksums.crc32c(Array("123456789".utf8)) == 0xE306_9283)
        #expect(Checksums.crc32c([UInt8]()) == 0)
    }

    @Test("every algorithm gives the same value at every split point", arguments: ChecksumAlgorithm.allCases)
    func splits(algorithm: ChecksumAlgorithm) {
        let bytes = (0..<768).map { UInt8($0 & 0xFF) }
        let whole = ChecksumHasher.checksum(algorithm, bytes)
        #expect(Base64.encode(whole) == ["CRC32": "sMDfKg==", "CRC32C": "n6KTsw==", "CRC64NVME": "TvGSHFb1waY=",
                                          "SHA1": "rComTI7B9CMqQIVOgjm8Oml6sdI=", "SHA256": "86JaqTqi+7oo15JgU1u9al6w/BwkqLDwThK0hMHf42M="][algorithm.rawValue])
        for split in stride(from: 0, through: bytes.count, by: 7) {
            let hasher = ChecksumHasher(algorithm)
            hasher.update(bytes[..<split])
            hasher.update(bytes[split...])
            #expect(hasher.finalize() == whole, "split at \(split)")
        }
    }

    @Test("CRC combine equals the CRC of the concatenation", arguments: [ChecksumAlgorithm.crc32, .crc32c, .crc64nvme])
    func combine(algorithm: ChecksumAlgorithm) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let a = (0..<Int.random(in: 0...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let b = (0..<Int.random(in: 0...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let combined = Checksums.combine(algorithm, ChecksumHasher.checksum(algorithm, a), ChecksumHasher.checksum(algorithm, b), secondLength: Int64(b.count))
            #expect(combined == ChecksumHasher.checksum(algorithm, a + b))
        }
        #expect(Checksums.combine(.sha256, [], [], secondLength: 1) == nil)
    }

    @Test func names() {
        #expect(ChecksumAlgorithm(name: "crc32c") == .crc32c)
        #expect(ChecksumAlgorithm(headerName: "X-Amz-Checksum-CRC64NVME") == .crc64nvme)
        #expect(ChecksumAlgorithm(headerName: "x-amz-checksum-md5") == nil)
        #expect(ChecksumAlgorithm.crc32.headerName == "x-amz-checksum-crc32")
        #expect(ChecksumAlgorithm.sha256.elementName == "ChecksumSHA256")
    }
}
