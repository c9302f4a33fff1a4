import Foundation

/// A policy condition operator (`StringLike`, `ForAnyValue:StringEquals`, `IpAddressIfExists`,
/// ...), with IAM's evaluation rules: values for one key are OR'ed, negated operators hold when
/// the request matches none of the values, and a key the request lacks fails a positive operator
/// but satisfies a negated one (or any `...IfExists`).
public struct ConditionOperator: Sendable, Equatable {
    enum Kind: String, Sendable, CaseIterable {
        case stringEquals = "StringEquals", stringNotEquals = "StringNotEquals"
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase", stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
        case stringLike = "StringLike", stringNotLike = "StringNotLike"
        case numericEquals = "NumericEquals", numericNotEquals = "NumericNotEquals"
        case numericLessThan = "NumericLessThan", numericLessThanEquals = "NumericLessThanEquals"
        case numericGreaterThan = "NumericGreaterThan", numericGreaterThanEquals = "NumericGreaterThanEquals"
        case dateEquals = "DateEquals", dateNotEquals = "DateNotEquals"
        case dateLessThan = "DateLessThan", dateLessThanEquals = "DateLessThanEquals"
        case dateGreaterThan = "DateGreaterThan", dateGreaterThanEquals = "DateGreaterThanEquals"
        case bool = "Bool", binaryEquals = "BinaryEquals"
        case ipAddress = "IpAddress", notIpAddress = "NotIpAddress"
        case arnEquals = "ArnEquals", arnNotEquals = "ArnNotEquals", arnLike = "ArnLike", arnNotLike = "ArnNotLike"
        case null = "Null"

        var isNegated: Bool {
            switch self {
            case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotLike, .numericNotEquals, .dateNotEquals,
                .notIpAddress, .arnNotEquals, .arnNotLike:
                true
            default: false
            }
        }
    }

    enum SetQualifier: Sendable { case none, forAnyValue, forAllValues }

    let kind: Kind
    let ifExists: Bool
    let qualifier: SetQualifier

    /// Parses an operator name; `nil` for names IAM does not know (PutBucketPolicy refuses them).
    public init?(name: String) {
        var rest = Substring(name)
        var qualifier = SetQualifier.none
        if rest.hasPrefix("ForAnyValue:") {
            qualifier = .forAnyValue
            rest = rest.dropFirst("ForAnyValue:".count)
        } else if rest.hasPrefix("ForAllValues:") {
            qualifier = .forAllValues
            rest = rest.dropFirst("ForAllValues:".count)
        }
        var ifExists = false
        if rest.hasSuffix("IfExists") {
            ifExists = true
            rest = rest.dropLast("IfExists".count)
        }
        guard let kind = Kind(rawValue: String(rest)) else { return nil }
        // `NullIfExists` is meaningless and IAM rejects it.
        if kind == .null, ifExists || qualifier != .none { return nil }
        self.kind = kind
        self.ifExists = ifExists
        self.qualifier = qualifier
    }

    /// Whether the condition holds for the request's values of its key (`nil`: the request has
    /// no such key).
    public func evaluate(requestValues: [String]?, policyValues: [String]) -> Bool {
        if kind == .null {
            let wantsAbsent = policyValues.contains { $0.lowercased() == "true" }
            let absent = requestValues?.isEmpty ?? true
            return wantsAbsent == absent
        }
        guard let values = requestValues, !values.isEmpty else {
            switch qualifier {
            case .forAllValues: return true
            case .forAnyValue: return false
            case .none: return ifExists || kind.isNegated
            }
        }
        switch qualifier {
        case .forAnyValue:
            return values.contains { single($0, policyValues) }
        case .forAllValues:
            return values.allSatisfy { single($0, policyValues) }
        case .none:
            return values.contains { single($0, policyValues) }
        }
    }

    /// One request value against the policy's values.
    private func single(_ value: String, _ policyValues: [String]) -> Bool {
        let matchesAny = policyValues.contains { positive(value, $0) }
        return kind.isNegated ? !matchesAny : matchesAny
    }

    /// The operator without its negation.
    private func positive(_ value: String, _ pattern: String) -> Bool {
        switch kind {
        case .stringEquals, .stringNotEquals, .binaryEquals:
            return value == pattern
        case .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase:
            return value.lowercased() == pattern.lowercased()
        case .stringLike, .stringNotLike, .arnLike, .arnNotLike:
            return Wildcard.matches(pattern, value)
        case .arnEquals, .arnNotEquals:
            return value == pattern
        case .bool:
            return value.lowercased() == pattern.lowercased()
        case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan,
            .numericGreaterThanEquals:
            guard let lhs = Double(value), let rhs = Double(pattern) else { return false }
            return compare(lhs, rhs)
        case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            guard let lhs = PolicyDate.parse(value), let rhs = PolicyDate.parse(pattern) else { return false }
            return compare(lhs, rhs)
        case .ipAddress, .notIpAddress:
            guard let block = CIDRBlock(pattern) else { return false }
            return block.contains(value)
        case .null:
            return false
        }
    }

    private func compare(_ lhs: Double, _ rhs: Double) -> Bool {
        switch kind {
        case .numericEquals, .numericNotEquals, .dateEquals, .dateNotEquals: lhs == rhs
        case .numericLessThan, .dateLessThan: lhs < rhs
        case .numericLessThanEquals, .dateLessThanEquals: lhs <= rhs
        case .numericGreaterThan, .dateGreaterThan: lhs > rhs
        case .numericGreaterThanEquals, .dateGreaterThanEquals: lhs >= rhs
        default: false
        }
    }

    /// Checks a policy value can ever be compared (a bad CIDR or date is refused at PUT, as IAM does).
    func validate(_ value: String) -> Bool {
        switch kind {
        case .ipAddress, .notIpAddress: CIDRBlock(value) != nil
        case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan,
            .numericGreaterThanEquals:
            Double(value) != nil
        case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            PolicyDate.parse(value) != nil
        case .bool, .null: ["true", "false"].contains(value.lowercased())
        default: true
        }
    }
}

/// Dates in conditions: ISO 8601 (`2026-01-01T00:00:00Z`, with or without fractional seconds,
/// or a bare date) or epoch seconds, compared as seconds since 1970.
enum PolicyDate {
    static func parse(_ text: String) -> Double? {
        if let seconds = Double(text) { return seconds }
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date.timeIntervalSince1970 }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date.timeIntervalSince1970 }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.date(from: text)?.timeIntervalSince1970
    }
}

/// An IPv4 or IPv6 CIDR block (`192.0.2.0/24`, `2001:db8::/32`; a bare address is a /32 or /128).
struct CIDRBlock: Sendable, Equatable {
    let network: [UInt8]
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.bytes(of: String(parts[0])) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        network = address
    }

    func contains(_ addressText: String) -> Bool {
        guard var address = Self.bytes(of: addressText) else { return false }
        // An IPv4-mapped IPv6 client address (`::ffff:127.0.0.1`) matches IPv4 blocks.
        if network.count == 4, address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        guard address.count == network.count else { return false }
        var remaining = prefixLength
        for index in 0..<address.count where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if address[index] & mask != network[index] & mask { return false }
            remaining -= take
        }
        return true
    }

    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

/// The condition keys a bucket policy may use. S3 refuses a policy naming any other key.
enum ConditionKeys {
    static let global: Set<String> = [
        "aws:currenttime", "aws:epochtime", "aws:multifactorauthage", "aws:multifactorauthpresent", "aws:principalaccount",
        "aws:principalarn", "aws:principalisawsservice", "aws:principalorgid", "aws:principalorgpaths", "aws:principaltype",
        "aws:principalservicename", "aws:referer", "aws:requestedregion", "aws:securetransport", "aws:sourceaccount",
        "aws:sourcearn", "aws:sourceip", "aws:sourceorgid", "aws:sourceorgpaths", "aws:sourcevpc", "aws:sourcevpce",
        "aws:tagkeys", "aws:tokenissuetime", "aws:useragent", "aws:userid", "aws:username", "aws:viaawsservice",
        "aws:vpcsourceip", "aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths", "aws:calledvia",
        "aws:calledviafirst", "aws:calledvialast", "aws:federatedprovider", "aws:ec2instancesourceprivateipv4",
        "aws:ec2instancesourcevpc", "aws:ismcpservicesaction",
    ]
    static let s3: Set<String> = [
        "s3:accesspointnetworkorigin", "s3:authtype", "s3:dataaccesspointaccount", "s3:dataaccesspointarn", "s3:delimiter",
        "s3:existingobjecttag", "s3:locationconstraint", "s3:max-keys", "s3:object-lock-legal-hold",
        "s3:object-lock-mode", "s3:object-lock-remaining-retention-days", "s3:object-lock-retain-until-date", "s3:prefix",
        "s3:requestobjecttagkeys", "s3:resourceaccount", "s3:signatureage", "s3:signatureversion", "s3:tlsversion",
        "s3:versionid", "s3:x-amz-acl", "s3:x-amz-content-sha256", "s3:x-amz-copy-source", "s3:x-amz-grant-full-control",
        "s3:x-amz-grant-read", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp",
        "s3:x-amz-metadata-directive", "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
        "s3:x-amz-website-redirect-location", "s3:if-match", "s3:if-none-match", "s3:objectcreationoperation",
        "s3:x-amz-checksum-algorithm", "s3:object-lock-remaining-retention-days",
    ]
    /// Keys that carry a tag or other name after a slash (`aws:PrincipalTag/team`).
    static let prefixed: [String] = [
        "aws:principaltag/", "aws:requesttag/", "aws:resourcetag/", "s3:existingobjecttag/", "s3:requestobjecttag/",
        "s3:bucketTag/".lowercased(),
    ]

    static func isKnown(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return global.contains(lowered) || s3.contains(lowered) || prefixed.contains { lowered.hasPrefix($0) && lowered.count > $0.count }
    }
}
