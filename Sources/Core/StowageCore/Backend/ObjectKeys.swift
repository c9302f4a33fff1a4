/// S3's rules for object keys.
public enum ObjectKeys {
    public static let maxLength = 1024

    /// Throws `KeyTooLongError` for keys over 1024 bytes of UTF-8.
    public static func validate(_ key: String) throws {
        let length = key.utf8.count
        if length > maxLength {
            throw S3Error(.keyTooLongError).with("MaxSizeAllowed", "\(maxLength)").with("Size", "\(length)")
        }
        if length == 0 {
            throw S3Error.invalidArgument("Object key must not be empty", name: "key", value: "")
        }
    }
}
