import CStowageISAL

/// The checksum algorithms S3 accepts in `x-amz-checksum-*` headers and trailers.
public enum ChecksumAlgorithm: String, Sendable, Hashable, CaseIterable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"
    case crc64nvme = "CRC64NVME"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    /// `x-amz-checksum-crc32`, ...
    public var headerName: String { "x-amz-checksum-\(rawValue.lowercased())" }

    /// The element name in XML documents (`ChecksumCRC32`, ...).
    public var elementName: String { "Checksum\(rawValue)" }

    /// Bytes in the digest.
    public var digestLength: Int {
        switch self {
        case .crc32, .crc32c: 4
        case .crc64nvme: 8
        case .sha1: 20
        case .sha256: 32
        }
    }

    public var isCRC: Bool { self == .crc32 || self == .crc32c || self == .crc64nvme }

    /// Parses an algorithm name case-insensitively (`crc32c`, `CRC32C`).
    public init?(name: String) {
        self.init(rawValue: name.uppercased())
    }

    /// The algorithm a checksum header names (`x-amz-checksum-sha256` → `.sha256`).
    public init?(headerName: String) {
        let lowered = headerName.lowercased()
        guard lowered.hasPrefix("x-amz-checksum-") else { return nil }
        self.init(name: String(lowered.dropFirst("x-amz-checksum-".count)))
    }
}

/// How a checksum covers an object: the whole byte stream, or (multipart) a checksum of the
/// parts' checksums.
public enum ChecksumType: String, Sendable, Hashable {
    case fullObject = "FULL_OBJECT"
    case composite = "COMPOSITE"
}

/// A streaming checksum computation. CRC-32 and CRC-32C run on ISA-L; CRC-64/NVME is the
/// project's own slicing-by-8 code (Debian's ISA-L 2.30 has no NVMe CRC); SHA-1 and SHA-256
/// run on OpenSSL.
///
/// ```swift
/// let hasher = ChecksumHasher(.crc32)
/// hasher.update(bytes)
/// let value = Base64.encode(hasher.finalize())   // what goes in x-amz-checksum-crc32
/// ```
///
/// Not `Sendable`: one hasher belongs to one task.
public final class ChecksumHasher {
    public let algorithm: ChecksumAlgorithm
    private var crc32: UInt32 = 0
    private var crc64: UInt64 = ~0
    private let digest: StreamingDigest?

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha1: digest = StreamingDigest(.sha1)
        case .sha256: digest = StreamingDigest(.sha256)
        default: digest = nil
        }
        if algorithm == .crc32c { crc32 = 0 }
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        switch algorithm {
        case .crc32:
            crc32 = crc32_gzip_refl(crc32, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        case .crc32c:
            // crc32_iscsi neither pre- nor post-inverts and takes an Int32 length.
            var offset = 0
            while offset < bytes.count {
                let count = min(bytes.count - offset, 1 << 30)
                let pointer = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: UInt8.self))
                crc32 = ~crc32_iscsi(pointer, Int32(count), ~crc32)
                offset += count
            }
        case .crc64nvme:
            crc64 = CRC64NVME.update(crc64, bytes)
        case .sha1, .sha256:
            digest!.update(bytes)
        }
    }

    public func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    /// The digest, big-endian, as S3 encodes it before Base64.
    public func finalize() -> [UInt8] {
        switch algorithm {
        case .crc32, .crc32c: return Checksums.bigEndian(UInt64(crc32), bytes: 4)
        case .crc64nvme: return Checksums.bigEndian(~crc64, bytes: 8)
        case .sha1, .sha256: return digest!.finalize()
        }
    }

    /// One-shot convenience.
    public static func checksum<Bytes: Sequence>(_ algorithm: ChecksumAlgorithm, _ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let hasher = ChecksumHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }
}

public enum Checksums {
    static func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (UInt64(bytes - 1 - $0) * 8)) }
    }

    static func integer(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// CRC32C (Castagnoli) of `bytes` as a number: block checksums and shard rotation in the
    /// cluster. `Checksums.crc32c(Array("123456789".utf8)) == 0xE306_9283`.
    public static func crc32c<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        UInt32(truncatingIfNeeded: integer(ChecksumHasher.checksum(.crc32c, bytes)))
    }

    /// The CRC of `A + B` from `crc(A)`, `crc(B)` and `B`'s length, without the bytes (zlib's
    /// `crc32_combine` method, generalised to the three reflected CRCs S3 uses). This is how a
    /// FULL_OBJECT multipart checksum is computed from the parts.
    public static func combine(_ algorithm: ChecksumAlgorithm, _ first: [UInt8], _ second: [UInt8], secondLength: Int64) -> [UInt8]? {
        let polynomial: UInt64
        let width: Int
        switch algorithm {
        case .crc32: (polynomial, width) = (0xEDB8_8320, 32)
        case .crc32c: (polynomial, width) = (0x82F6_3B78, 32)
        case .crc64nvme: (polynomial, width) = (0x9A6C_9329_AC4B_C9B5, 64)
        case .sha1, .sha256: return nil
        }
        let combiner = CRCCombiner(polynomial: polynomial, width: width)
        let combined = combiner.combine(integer(first), integer(second), length: secondLength)
        return bigEndian(combined, bytes: width / 8)
    }
}

/// CRC combination in GF(2): multiply crc(A) by x^(8·len(B)) modulo the polynomial, then add crc(B).
struct CRCCombiner {
    let polynomial: UInt64
    let width: Int
    private let top: UInt64

    init(polynomial: UInt64, width: Int) {
        self.polynomial = polynomial
        self.width = width
        top = 1 << UInt64(width - 1)
    }

    /// a·b mod p, in the reflected representation (the top bit is x^0).
    func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var m = top
        var b = b
        var product: UInt64 = 0
        while true {
            if a & m != 0 {
                product ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }

    /// x^(n·2^k) mod p.
    func xPower(bytes n: Int64) -> UInt64 {
        var table: [UInt64] = []
        var p: UInt64 = top >> 1  // x^1
        table.append(p)
        for _ in 1..<64 {
            p = multiply(p, p)
            table.append(p)
        }
        var result = top  // x^0
        var n = UInt64(n)
        var k = 3  // bytes → bits: x^(8n) = x^(n·2^3)
        while n != 0 {
            if n & 1 != 0 { result = multiply(table[k & 63], result) }
            n >>= 1
            k += 1
        }
        return result
    }

    func combine(_ first: UInt64, _ second: UInt64, length: Int64) -> UInt64 {
        guard length > 0 else { return first }
        return multiply(xPower(bytes: length), first) ^ second
    }
}

/// CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones; check value
/// 0xae8b14860a799888 for "123456789"), slicing-by-8.
enum CRC64NVME {
    static let polynomial: UInt64 = 0x9A6C_9329_AC4B_C9B5

    /// Eight 256-entry tables, flattened.
    static let tables: [UInt64] = {
        var tables = [UInt64](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt64(index)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[index] = crc
        }
        for slice in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// Feeds `bytes` into a running (inverted) CRC state.
    static func update(_ state: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var crc = state
        tables.withUnsafeBufferPointer { t in
            var index = 0
            let count = bytes.count
            while index + 8 <= count {
                crc ^= UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                crc = t[7 * 256 + Int(crc & 0xFF)] ^ t[6 * 256 + Int((crc >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((crc >> 16) & 0xFF)] ^ t[4 * 256 + Int((crc >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((crc >> 32) & 0xFF)] ^ t[2 * 256 + Int((crc >> 40) & 0xFF)]
                    ^ t[256 + Int((crc >> 48) & 0xFF)] ^ t[Int(crc >> 56)]
                index += 8
            }
            while index < count {
                crc = t[Int((crc ^ UInt64(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        return crc
    }
}
