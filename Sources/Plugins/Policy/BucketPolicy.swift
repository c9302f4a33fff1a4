import Foundation
import StowageCore

/// A bucket policy: IAM's JSON policy language, parsed and validated the way S3 validates
/// PutBucketPolicy (unknown actions, resources outside the bucket, unknown condition operators
/// and keys are `MalformedPolicy` with a reason).
///
/// ```swift
/// let policy = try BucketPolicy(json: Array(document.utf8), bucket: "photos")
/// policy.evaluate(PolicyRequest(identity: .anonymous, action: "s3:GetObject", resource: "arn:aws:s3:::photos/cat.jpg"))
/// ```
public struct BucketPolicy: Sendable, Equatable {
    public enum Effect: String, Sendable { case allow = "Allow", deny = "Deny" }

    public enum Principal: Sendable, Equatable {
        /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous requests.
        case everyone
        /// AWS account ids, account root ARNs, user ARNs (wildcards allowed) and canonical user ids.
        case listed(aws: [String], canonicalUsers: [String])
    }

    public struct Condition: Sendable, Equatable {
        public var operation: ConditionOperator
        /// Condition keys compare case-insensitively; stored lower-cased.
        public var key: String
        public var values: [String]
    }

    public struct Statement: Sendable, Equatable {
        public var sid: String?
        public var effect: Effect
        public var principal: Principal?
        public var notPrincipal: Principal?
        public var actions: [String]?
        public var notActions: [String]?
        public var resources: [String]?
        public var notResources: [String]?
        public var conditions: [Condition]
    }

    public var version: String
    public var id: String?
    public var statements: [Statement]

    /// S3's limit on a bucket policy document.
    public static let maxSize = S3Limits.maxBucketPolicySize
    static let versions: Set<String> = ["2008-10-17", "2012-10-17"]

    public init(json bytes: [UInt8], bucket: String) throws {
        guard bytes.count <= Self.maxSize else { throw Self.malformed("Policies must be less than 20 KB") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: []) as? [String: Any] else {
            throw Self.malformed("Policies must be valid JSON and the first byte must be '{'")
        }
        for key in object.keys where !["Version", "Id", "Statement"].contains(key) {
            throw Self.malformed("Unknown field \(key)")
        }
        if let version = object["Version"] {
            guard let text = version as? String, Self.versions.contains(text) else {
                throw Self.malformed("The policy must contain a valid version string")
            }
            self.version = text
        } else {
            version = "2008-10-17"
        }
        id = object["Id"] as? String
        let rawStatements: [Any]
        switch object["Statement"] {
        case let list as [Any]: rawStatements = list
        case let single as [String: Any]: rawStatements = [single]
        default: throw Self.malformed("Missing required field Statement")
        }
        guard !rawStatements.isEmpty else { throw Self.malformed("Could not parse the policy: Statement is empty!") }
        statements = try rawStatements.map { raw in
            guard let statement = raw as? [String: Any] else { throw Self.malformed("Statement is not an object") }
            return try Self.parseStatement(statement, bucket: bucket)
        }
    }

    static func malformed(_ reason: String) -> S3Error {
        S3Error(.malformedPolicy, message: reason)
    }

    static let statementFields: Set<String> = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]

    static func parseStatement(_ raw: [String: Any], bucket: String) throws -> Statement {
        for key in raw.keys where !statementFields.contains(key) { throw malformed("Unknown field \(key)") }
        guard let effectText = raw["Effect"] as? String else { throw malformed("Missing required field Effect") }
        guard let effect = Effect(rawValue: effectText) else { throw malformed("Invalid effect: \(effectText)") }
        guard (raw["Principal"] == nil) != (raw["NotPrincipal"] == nil) else {
            throw malformed(raw["Principal"] == nil ? "Missing required field Principal" : "Statement has both Principal and NotPrincipal")
        }
        // IAM allows NotPrincipal only to deny: an Allow for "everyone but X" is refused.
        if effect == .allow, raw["NotPrincipal"] != nil {
            throw malformed("NotPrincipal is not supported with an Allow effect")
        }
        guard (raw["Action"] == nil) != (raw["NotAction"] == nil) else {
            throw malformed(raw["Action"] == nil ? "Missing required field Action" : "Statement has both Action and NotAction")
        }
        guard (raw["Resource"] == nil) != (raw["NotResource"] == nil) else {
            throw malformed(raw["Resource"] == nil ? "Missing required field Resource" : "Statement has both Resource and NotResource")
        }
        let actions = try raw["Action"].map { try strings($0, field: "Action") }
        let notActions = try raw["NotAction"].map { try strings($0, field: "NotAction") }
        for action in (actions ?? notActions ?? []) where action != "*" {
            guard action.lowercased().hasPrefix("s3:"), !S3Actions.expand(action).isEmpty else { throw malformed("Policy has invalid action") }
        }
        let resources = try raw["Resource"].map { try strings($0, field: "Resource") }
        let notResources = try raw["NotResource"].map { try strings($0, field: "NotResource") }
        for resource in (resources ?? notResources ?? []) {
            guard resourceBelongs(resource, to: bucket) else { throw malformed("Policy has invalid resource") }
        }
        if let actions, let resources {
            // Every named action must apply to at least one of the statement's resources.
            let kinds = Set(resources.flatMap { resourceKinds($0, bucket: bucket) })
            for action in actions {
                let named = action == "*" ? S3Actions.all : S3Actions.expand(action)
                guard named.contains(where: { kinds.contains($0.kind) }) else {
                    throw malformed("Action does not apply to any resource(s) in statement")
                }
            }
        }
        return Statement(
            sid: raw["Sid"] as? String, effect: effect,
            principal: try raw["Principal"].map(parsePrincipal), notPrincipal: try raw["NotPrincipal"].map(parsePrincipal),
            actions: actions, notActions: notActions, resources: resources, notResources: notResources,
            conditions: try raw["Condition"].map(parseConditions) ?? []
        )
    }

    static func strings(_ value: Any, field: String) throws -> [String] {
        switch value {
        case let text as String: return [text]
        case let list as [Any]:
            let texts = list.compactMap { $0 as? String }
            guard texts.count == list.count, !texts.isEmpty else { throw malformed("\(field) must be a string or a list of strings") }
            return texts
        default:
            throw malformed("\(field) must be a string or a list of strings")
        }
    }

    static func parsePrincipal(_ value: Any) throws -> Principal {
        if let text = value as? String {
            guard text == "*" else { throw malformed("Invalid principal in policy") }
            return .everyone
        }
        guard let map = value as? [String: Any], !map.isEmpty else { throw malformed("Invalid principal in policy") }
        var aws: [String] = []
        var canonical: [String] = []
        for (type, entries) in map {
            let values = try strings(entries, field: "Principal")
            switch type {
            case "AWS":
                for value in values {
                    guard value == "*" || isAccountID(value) || value.hasPrefix("arn:aws:iam::") else { throw malformed("Invalid principal in policy") }
                }
                if values.contains("*") { return .everyone }
                aws += values
            case "CanonicalUser":
                canonical += values
            case "Service", "Federated":
                continue  // Valid in S3 policies, but no such principal ever calls this server.
            default:
                throw malformed("Invalid principal in policy")
            }
        }
        return .listed(aws: aws, canonicalUsers: canonical)
    }

    static func isAccountID(_ value: String) -> Bool {
        value.utf8.count == 12 && value.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    static func parseConditions(_ value: Any) throws -> [Condition] {
        guard let block = value as? [String: Any] else { throw malformed("Condition must be an object") }
        var conditions: [Condition] = []
        for (operatorName, entries) in block {
            guard let operation = ConditionOperator(name: operatorName) else {
                throw malformed("Invalid Condition type : \(operatorName)")
            }
            guard let map = entries as? [String: Any] else { throw malformed("Invalid Condition type : \(operatorName)") }
            for (key, rawValues) in map {
                guard ConditionKeys.isKnown(key) else { throw malformed("Policy has an invalid condition key") }
                let values: [String]
                switch rawValues {
                case let list as [Any]: values = try list.map(conditionValue)
                default: values = [try conditionValue(rawValues)]
                }
                for value in values where !operation.validate(value) {
                    throw malformed("Invalid value \(value) for condition \(operatorName)")
                }
                conditions.append(Condition(operation: operation, key: key.lowercased(), values: values))
            }
        }
        return conditions
    }

    static func conditionValue(_ value: Any) throws -> String {
        switch value {
        case let text as String: return text
        case let number as NSNumber:
            // JSON true/false arrive as NSNumber too; IAM compares their text.
            if type(of: number) == type(of: NSNumber(value: true)) { return number.boolValue ? "true" : "false" }
            return number.stringValue
        default: throw malformed("Condition values must be strings, numbers or booleans")
        }
    }

    static let arnPrefix = "arn:aws:s3:::"

    /// Whether a resource pattern can only name things in `bucket` (S3 refuses policies that
    /// reach outside the bucket they are attached to).
    static func resourceBelongs(_ resource: String, to bucket: String) -> Bool {
        if resource == "*" { return true }
        guard resource.hasPrefix(arnPrefix) else { return false }
        let path = resource.dropFirst(arnPrefix.count)
        let bucketPart = path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return Wildcard.matches(bucketPart, bucket) || (bucketPart.hasSuffix("*") && Wildcard.matches(String(path), bucket + "/x"))
    }

    static func resourceKinds(_ resource: String, bucket: String) -> [S3Actions.ResourceKind] {
        if resource == "*" { return [.bucket, .object] }
        var kinds: [S3Actions.ResourceKind] = []
        if Wildcard.matches(resource, arnPrefix + bucket) { kinds.append(.bucket) }
        let path = resource.dropFirst(arnPrefix.count)
        if path.contains("/") || path.contains("*") { kinds.append(.object) }
        return kinds
    }
}
