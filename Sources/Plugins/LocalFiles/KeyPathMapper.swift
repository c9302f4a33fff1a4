public import StowageCore

/// Maps any valid S3 key to a safe relative path inside its bucket directory.
///
/// Each `/`-separated component becomes one path component, so a person browsing the bucket
/// directory sees the key's structure and opens object files by their names:
/// `photos/2024/cat.jpg` → `photos%/2024%/cat.jpg`.
///
/// The grammar makes every mapping collision-free and traversal-proof:
/// - Bytes that cannot or should not appear in a file name (NUL..0x1F, 0x7F, `%`) become
///   `%XX` with upper-case hex; the components `.` and `..` become `%2E` and `%2E%2E`.
/// - An empty component (from `//`, a leading or a trailing `/`) becomes `%e`.
/// - A component whose encoding would exceed 240 bytes keeps a readable prefix and ends in
///   `%h` plus 40 hex digits of its SHA-256, so names stay under the 255-byte limit.
/// - Directory components end in a bare `%`; file names never do. So the objects `a` and
///   `a/b` coexist as the file `a` and the directory `a%`.
/// - A key whose mapped path would exceed 3,072 bytes is stored flat as `%x%/<sha256 of key>`.
/// `%` followed by a lower-case letter never comes out of the escaping, so the markers
/// cannot be forged by a key.
public enum KeyPathMapper {
    public static let maxComponentBytes = 240
    public static let readablePrefixBytes = 200
    public static let maxRelativePathBytes = 3072
    public static let flatDirectory = "%x%"

    /// The relative path of `key`'s file inside the bucket directory.
    public static func relativePath(for key: String) -> String {
        let components = key.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var path: [UInt8] = []
        path.reserveCapacity(key.utf8.count + 16)
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            path.append(contentsOf: name(for: component))
            if !isLast {
                path.append(UInt8(ascii: "%"))
                path.append(UInt8(ascii: "/"))
            }
            if path.count > maxRelativePathBytes {
                return flatDirectory + "/" + SHA256.hex(Array(key.utf8))
            }
        }
        return String(decoding: path, as: UTF8.self)
    }

    /// The directory components of a relative path, outermost first (for creating parents
    /// and removing empty ones).
    public static func parentDirectories(of relativePath: String) -> [String] {
        var result: [String] = []
        var current = ""
        let parts = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts.dropLast() {
            current = current.isEmpty ? String(part) : current + "/" + part
            result.append(current)
        }
        return result
    }

    /// The file name of one key component.
    public static func name<C: Collection>(for component: C) -> [UInt8] where C.Element == UInt8 {
        if component.isEmpty { return Array("%e".utf8) }
        if component.elementsEqual(".".utf8) { return Array("%2E".utf8) }
        if component.elementsEqual("..".utf8) { return Array("%2E%2E".utf8) }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(component.count)
        for byte in component { appendEncoded(byte, to: &encoded) }
        if encoded.count <= maxComponentBytes { return encoded }

        // Too long for one file name: a readable prefix cut at a character boundary, then a hash.
        var prefix: [UInt8] = []
        let scalars = String(decoding: Array(component), as: UTF8.self).unicodeScalars
        for scalar in scalars {
            var piece: [UInt8] = []
            for byte in String(scalar).utf8 { appendEncoded(byte, to: &piece) }
            if prefix.count + piece.count > readablePrefixBytes { break }
            prefix.append(contentsOf: piece)
        }
        let digest = SHA256.hex(Array(component))
        return prefix + Array("%h".utf8) + Array(digest.utf8.prefix(40))
    }

    @inline(__always)
    public static func appendEncoded(_ byte: UInt8, to out: inout [UInt8]) {
        if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "/") {
            let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
            out.append(UInt8(ascii: "%"))
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        } else {
            out.append(byte)
        }
    }
}
