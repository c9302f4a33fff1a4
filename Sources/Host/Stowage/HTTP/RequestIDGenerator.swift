import StowageCore
import Synchronization

/// Request ids in S3's shape (16 upper-case hex digits): a random per-process prefix and a
/// counter, so ids are unique without a random draw per request.
final class RequestIDGenerator: Sendable {
    private let prefix: UInt64
    private let counter = Atomic<UInt64>(0)
    private static let digits: [UInt8] = Array("0123456789ABCDEF".utf8)

    init() {
        // The system generator (getrandom): the prefix need not be secret, and OpenSSL's
        // generator would initialise its provider tables on the start-up path.
        prefix = UInt64.random(in: 0...UInt64(UInt32.max))
    }

    func next() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let value = prefix << 32 | (count & 0xFFFF_FFFF)
        var out = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 {
            out[15 - index] = Self.digits[Int((value >> (UInt64(index) * 4)) & 0xF)]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
