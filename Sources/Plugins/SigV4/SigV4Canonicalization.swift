public import StowageCore
import HTTPTypes

/// Builds the canonical request of a received request exactly as a SigV4 client signed it.
/// Pure functions over the raw path, raw query and headers.
public enum SigV4Canonicalization {
    /// The canonical URI candidates: first the path decoded and re-encoded with SigV4's rules
    /// (what AWS SDKs sign; it also absorbs clients that escape unreserved characters), then the
    /// raw path as sent, when it differs. S3 never normalises `.`/`..` or double-encodes.
    public static func canonicalURIs(rawPath: String) -> [String] {
        let raw = rawPath.isEmpty ? "/" : rawPath
        guard let bytes = decode(Array(raw.utf8), plusIsSpace: false) else { return [raw] }
        let reencoded = encode(bytes, keepSlash: true)
        return reencoded == raw ? [raw] : [reencoded, raw]
    }

    /// The canonical query string: each parameter decoded (`+` read as a space, as S3 reads
    /// queries) and re-encoded, sorted by name then value (byte order), `name=` for empty values.
    /// `excluding` drops a parameter (`X-Amz-Signature` for presigned URLs).
    public static func canonicalQuery(rawQuery: String?, excluding: String? = nil) -> String {
        guard let rawQuery, !rawQuery.isEmpty else { return "" }
        var pairs: [(name: [UInt8], value: [UInt8])] = []
        for piece in rawQuery.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: ArraySlice<UInt8>
            let value: ArraySlice<UInt8>
            let bytes = Array(piece)[...]
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                name = bytes[..<equals]
                value = bytes[(equals + 1)...]
            } else {
                name = bytes
                value = []
            }
            let decodedName = decode(Array(name), plusIsSpace: true) ?? Array(name)
            if let excluding, decodedName == Array(excluding.utf8) { continue }
            let decodedValue = decode(Array(value), plusIsSpace: true) ?? Array(value)
            pairs.append((Array(encode(decodedName, keepSlash: false).utf8), Array(encode(decodedValue, keepSlash: false).utf8)))
        }
        pairs.sort { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.lexicographicallyPrecedes(rhs.value) : lhs.name.lexicographicallyPrecedes(rhs.name)
        }
        var out: [UInt8] = []
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            out += pair.name
            out.append(UInt8(ascii: "="))
            out += pair.value
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Canonical headers and the signed-header list for `names` (lower-case, as signed).
    /// `host` comes from the request's authority. Values are trimmed, runs of spaces collapsed,
    /// and repeated fields joined with commas. A signed header the request lacks is rendered
    /// empty, so the signature fails rather than the request being accepted with it missing.
    public static func canonicalHeaders(_ request: S3Request, signedHeaders names: [String]) -> String {
        // One pass over the request's fields, bytes out: this runs on every signed request.
        let sorted = names.isSorted ? names : names.sorted()
        var values = [[Substring]](repeating: [], count: sorted.count)
        for field in request.headers {
            let name = field.name.canonicalName
            if let index = sorted.firstIndex(of: name) { values[index].append(Substring(field.value)) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        for (index, name) in sorted.enumerated() {
            out += name.utf8
            out.append(UInt8(ascii: ":"))
            if name == "host" {
                if let authority = request.authority { appendCollapsed(Substring(authority), to: &out) }
            } else {
                for (position, value) in values[index].enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    appendCollapsed(value, to: &out)
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A header value trimmed of spaces and tabs, with runs of spaces collapsed to one.
    static func appendCollapsed(_ value: Substring, to out: inout [UInt8]) {
        let bytes = value.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { bytes.formIndex(after: &start) }
        while end > start {
            let before = bytes.index(before: end)
            guard bytes[before] == 0x20 || bytes[before] == 0x09 else { break }
            end = before
        }
        var previous: UInt8 = 0
        for byte in bytes[start..<end] {
            if !(byte == 0x20 && previous == 0x20) { out.append(byte) }
            previous = byte
        }
    }

    public static func canonicalRequest(method: String, uri: String, query: String, headers: String, signedHeaders: [String], payloadHash: String) -> String {
        [method, uri, query, headers, signedHeaders.sorted().joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    // MARK: Encoding

    /// Percent-decodes; `nil` when an escape is malformed.
    static func decode(_ bytes: [UInt8], plusIsSpace: Bool) -> [UInt8]? {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return out
    }

    /// SigV4's UriEncode: everything but `A-Z a-z 0-9 - _ . ~` (and `/` in paths) as `%XX`.
    static func encode(_ bytes: [UInt8], keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Array where Element: Comparable {
    fileprivate var isSorted: Bool { zip(self, dropFirst()).allSatisfy { $0 <= $1 } }
}
