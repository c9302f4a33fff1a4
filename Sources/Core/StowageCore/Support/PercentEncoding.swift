/// Percent-encoding as S3 uses it. Pure functions over UTF-8 bytes.
public enum PercentEncoding {
    /// Decodes `%XX` escapes in a URL path. `+` stays `+` (S3 reads it literally in paths).
    /// Returns `nil` when an escape is malformed or the result is not valid UTF-8.
    public static func decodePath<S: Collection>(_ bytes: S) -> String? where S.Element == UInt8 {
        decode(bytes, plusIsSpace: false, lenient: false)
    }

    /// The common case on every request: a piece of an already-valid string, often without escapes.
    public static func decodePath(_ bytes: Substring.UTF8View) -> String? {
        if !bytes.contains(UInt8(ascii: "%")) { return String(Substring(bytes)) }
        return decode(bytes, plusIsSpace: false, lenient: false)
    }

    /// Decodes a query component; `+` is a space. Malformed escapes are kept literally and
    /// invalid UTF-8 is repaired, so a query can always be read.
    public static func decodeQueryComponent<S: Collection>(_ bytes: S) -> String where S.Element == UInt8 {
        decode(bytes, plusIsSpace: true, lenient: true) ?? String(decoding: Array(bytes), as: UTF8.self)
    }

    static func decode<S: Collection>(_ bytes: S, plusIsSpace: Bool, lenient: Bool) -> String?
    where S.Element == UInt8 {
        // Fast path: nothing to decode.
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) {
            let array = Array(bytes)
            return lenient ? String(decoding: array, as: UTF8.self) : String(validating: array, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                if first != bytes.endIndex {
                    let second = bytes.index(after: first)
                    if second != bytes.endIndex, let high = hexValue(bytes[first]), let low = hexValue(bytes[second]) {
                        out.append(high << 4 | low)
                        index = bytes.index(after: second)
                        continue
                    }
                }
                if !lenient { return nil }
                out.append(byte)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(byte)
            }
            index = bytes.index(after: index)
        }
        return lenient ? String(decoding: out, as: UTF8.self) : String(validating: out, as: UTF8.self)
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Encodes a string the way S3 does for `encoding-type=url` in listings: every byte but
    /// the unreserved set (`A-Z a-z 0-9 - _ . ~`) and `/` becomes `%XX`.
    public static func encodeURLComponentKeepingSlash(_ string: String) -> String {
        encode(string, keep: { isUnreserved($0) || $0 == UInt8(ascii: "/") })
    }

    /// RFC 3986 encoding of everything but the unreserved set.
    public static func encodeUnreserved(_ string: String) -> String {
        encode(string, keep: isUnreserved)
    }

    @inline(__always)
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
            UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func encode(_ string: String, keep: (UInt8) -> Bool) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            if keep(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
