/// One entry of the S3 error-code table: the code S3 puts in `<Code>`, its HTTP status, and
/// S3's default message.
///
/// The table is a struct with static members rather than an enum, so plugins can add codes
/// without touching Core:
///
/// ```swift
/// extension S3ErrorCode {
///     static let quotaExceeded = S3ErrorCode("QuotaExceeded", status: 403, message: "Quota exceeded.")
/// }
/// throw S3Error(.quotaExceeded)
/// ```
public struct S3ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code exactly as S3 spells it, e.g. `NoSuchKey`.
    public let name: String
    /// The HTTP status S3 answers with.
    public let status: Int
    /// S3's default message for the code.
    public let message: String

    public init(_ name: String, status: Int, message: String) {
        self.name = name
        self.status = status
        self.message = message
    }

    public var description: String { name }

    /// Two codes are the same code when their names match.
    public static func == (lhs: S3ErrorCode, rhs: S3ErrorCode) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}
