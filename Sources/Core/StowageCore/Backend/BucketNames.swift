/// S3's naming rules for new general purpose buckets.
public enum BucketNames {
    /// Why `name` is not a valid new bucket name, or `nil` when it is.
    public static func violation(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return "Bucket name must be between 3 and 63 characters long" }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"):
                continue
            default:
                return "Bucket name can contain only lowercase letters, numbers, dots and hyphens"
            }
        }
        guard isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else {
            return "Bucket name must begin and end with a letter or number"
        }
        if name.contains("..") { return "Bucket name must not contain two adjacent periods" }
        if looksLikeIPv4(name) { return "Bucket name must not be formatted as an IP address" }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] where name.hasPrefix(prefix) {
            return "Bucket name must not start with the prefix '\(prefix)'"
        }
        for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] where name.hasSuffix(suffix) {
            return "Bucket name must not end with the suffix '\(suffix)'"
        }
        return nil
    }

    public static func isValid(_ name: String) -> Bool { violation(name) == nil }

    /// Names that can never be a bucket on disk or in a URL, checked before any lookup so a
    /// hostile name never reaches a path: empty, `.`/`..`, slashes, NUL.
    public static func isSafeForLookup(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name.utf8.count <= 255
            && !name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == 0 })
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func looksLikeIPv4(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber) }
    }
}
