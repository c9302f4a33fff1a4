import Foundation

/// A browser upload's POST policy: the base64 JSON document the form carries (and the
/// signature signs), with an expiration and the conditions every form field must meet.
///
/// ```swift
/// let policy = try PostPolicy(base64: form.value("policy")!)
/// try policy.check(fields: ["key": "uploads/cat.jpg", "bucket": "photos"], now: .now)
/// ```
public struct PostPolicy: Sendable {
    public enum Condition: Sendable, Equatable {
        /// `{"field": "value"}` or `["eq", "$field", "value"]`.
        case equals(field: String, value: String)
        /// `["starts-with", "$field", "prefix"]`.
        case startsWith(field: String, prefix: String)
        /// `["content-length-range", min, max]`: the file's size, bounds included.
        case contentLengthRange(min: Int64, max: Int64)
    }

    public var expiration: S3Timestamp
    public var conditions: [Condition]

    /// Form fields no condition needs to cover (besides `x-ignore-*`).
    public static let exemptFields: Set<String> = ["x-amz-signature", "file", "policy", "awsaccesskeyid", "signature"]

    /// Parses the policy as sent; `InvalidPolicyDocument` when it is not base64 JSON with an
    /// `expiration` and a `conditions` list of known forms.
    public init(base64: String) throws {
        guard let bytes = Base64.decode(base64),
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { throw Self.invalid("Invalid Policy: Invalid JSON.") }
        guard let expirationText = object["expiration"] as? String else {
            throw Self.invalid("Invalid Policy: Policy missing expiration.")
        }
        guard let expiration = S3Timestamp(iso8601: expirationText) else {
            throw Self.invalid("Invalid Policy: Invalid 'expiration' value: '\(expirationText)'")
        }
        guard let list = object["conditions"] as? [Any] else {
            throw Self.invalid("Invalid Policy: Policy missing conditions.")
        }
        self.expiration = expiration
        self.conditions = try list.flatMap(Self.parse)
    }

    static func invalid(_ message: String) -> S3Error { S3Error(.invalidPolicyDocument, message: message) }

    static func parse(_ raw: Any) throws -> [Condition] {
        if let object = raw as? [String: Any] {
            return try object.map { name, value in
                guard let text = Self.text(value) else { throw invalid("Invalid Policy: Invalid Simple-Condition: value must be a string.") }
                return .equals(field: name.lowercased(), value: text)
            }
        }
        guard let array = raw as? [Any], let operation = (array.first as? String)?.lowercased() else {
            throw invalid("Invalid Policy: Invalid condition.")
        }
        if operation == "content-length-range" {
            guard array.count == 3, let low = number(array[1]), let high = number(array[2]), low >= 0, low <= high else {
                throw invalid("Invalid Policy: Invalid content-length-range condition.")
            }
            return [.contentLengthRange(min: low, max: high)]
        }
        guard array.count == 3, let field = array[1] as? String, field.hasPrefix("$"), let value = Self.text(array[2]) else {
            throw invalid("Invalid Policy: Invalid \(operation) condition.")
        }
        let name = String(field.dropFirst()).lowercased()
        switch operation {
        case "eq": return [.equals(field: name, value: value)]
        case "starts-with": return [.startsWith(field: name, prefix: value)]
        default: throw invalid("Invalid Policy: Invalid condition operator '\(operation)'.")
        }
    }

    private static func text(_ value: Any) -> String? {
        if let string = value as? String { return string }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
    }

    private static func number(_ value: Any) -> Int64? {
        if let number = value as? NSNumber { return number.int64Value }
        if let string = value as? String { return Int64(string.trimmingSpaces()) }
        return nil
    }

    /// The content-length-range bounds, when the policy sets them (the tightest if several).
    public var sizeRange: ClosedRange<Int64>? {
        var low: Int64?
        var high: Int64?
        for case .contentLengthRange(let min, let max) in conditions {
            low = Swift.max(low ?? min, min)
            high = Swift.min(high ?? max, max)
        }
        guard let low, let high else { return nil }
        return low...Swift.max(low, high)
    }

    /// Checks the form against the policy: not expired, every condition met by `fields`
    /// (lowercased names; `bucket` is the bucket posted to; `key` already expanded), and every
    /// field but the exempt ones covered by a condition. Failures are S3's 403 `AccessDenied`
    /// "Invalid according to Policy: ...".
    public func check(fields: [String: String], now: S3Timestamp) throws {
        guard now < expiration else { throw Self.refused("Policy expired.") }
        var covered: Set<String> = ["bucket"]
        for condition in conditions {
            switch condition {
            case .equals(let field, let value):
                covered.insert(field)
                guard let actual = fields[field], actual.sameBytes(as: value) else { throw Self.refused("Policy Condition failed: [\"eq\", \"$\(field)\", \"\(value)\"]") }
            case .startsWith(let field, let prefix):
                covered.insert(field)
                guard let actual = fields[field], Self.startsWith(field: field, actual, prefix) else {
                    throw Self.refused("Policy Condition failed: [\"starts-with\", \"$\(field)\", \"\(prefix)\"]")
                }
            case .contentLengthRange:
                continue
            }
        }
        let extra = fields.keys.filter { !covered.contains($0) && !Self.exemptFields.contains($0) && !$0.hasPrefix("x-ignore-") }.sorted()
        if !extra.isEmpty { throw Self.refused("Extra input fields: \(extra.joined(separator: ", "))") }
    }

    /// `starts-with` on Content-Type holds when every type of a comma-separated list does.
    private static func startsWith(field: String, _ value: String, _ prefix: String) -> Bool {
        // Bytes, not Swift's canonical equivalence: values compare exactly, case included.
        guard field == "content-type", value.contains(",") else { return value.utf8.starts(with: prefix.utf8) }
        return value.split(separator: ",").allSatisfy { $0.trimmingSpaces().utf8.starts(with: prefix.utf8) }
    }

    static func refused(_ reason: String) -> S3Error {
        S3Error(.accessDenied, message: "Invalid according to Policy: \(reason)")
    }
}
