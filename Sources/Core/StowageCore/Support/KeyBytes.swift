/// Byte-string helpers for listing keys in S3's order (UTF-8 bytes), shared by backends.
///
/// ```swift
/// KeyBytes.successor(of: Array("photos/".utf8))                // "photos0": just past the prefix
/// KeyBytes.endOfFirst(Array("/".utf8), in: Array("a/b/c".utf8), from: 0)   // 2
/// ```
public enum KeyBytes {
    /// The smallest byte string greater than every string that starts with `prefix`; `nil`
    /// when there is none (empty, or all 0xFF).
    public static func successor(of prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }

    /// The end index (exclusive) of the first `delimiter` in `key` at or after `from`.
    public static func endOfFirst(_ delimiter: [UInt8], in key: [UInt8], from: Int) -> Int? {
        guard !delimiter.isEmpty, key.count >= from + delimiter.count else { return nil }
        var index = from
        while index + delimiter.count <= key.count {
            if key[index] == delimiter[0], key[index..<index + delimiter.count].elementsEqual(delimiter) {
                return index + delimiter.count
            }
            index += 1
        }
        return nil
    }
}
