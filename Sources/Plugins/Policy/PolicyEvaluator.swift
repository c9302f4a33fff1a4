public import StowageCore
import Foundation

/// One authorization question put to a policy: who, which action, on which resource, with the
/// request's condition-key values.
///
/// ```swift
/// let question = PolicyRequest(identity: .anonymous, action: "s3:GetObject", resource: "arn:aws:s3:::photos/cat.jpg")
/// ```
public struct PolicyRequest: Sendable {
    public var identity: S3Identity
    public var action: String
    public var resource: String
    /// Condition-key values by lower-cased key (`aws:sourceip`, `s3:prefix`).
    public var conditionValues: [String: [String]]

    public init(identity: S3Identity, action: String, resource: String, conditionValues: [String: [String]] = [:]) {
        self.identity = identity
        self.action = action
        self.resource = resource
        self.conditionValues = conditionValues
    }
}

/// What a policy says about a request.
public enum PolicyDecision: Sendable, Equatable {
    /// A matching `Deny` statement: refused whoever asks.
    case explicitDeny
    /// A matching `Allow` statement and no matching `Deny`.
    case allow
    /// No statement matches.
    case noMatch
}

extension BucketPolicy {
    /// IAM's evaluation: any matching `Deny` wins, then any matching `Allow`, else no opinion.
    public func evaluate(_ request: PolicyRequest) -> PolicyDecision {
        var allowed = false
        let variables = version == "2012-10-17"  // The 2008 language has no policy variables.
        for statement in statements where statement.matches(request, substitutingVariables: variables) {
            if statement.effect == .deny { return .explicitDeny }
            allowed = true
        }
        return allowed ? .allow : .noMatch
    }

    /// Whether some `Allow` statement could grant `action` on some object of `bucket` to
    /// `identity`, conditions aside: when none can, a multi-object request (DeleteObjects) is
    /// refused before its body is read.
    public func mayAllowSomeObject(_ identity: S3Identity, action: String, bucket: String) -> Bool {
        statements.contains { statement in
            guard statement.effect == .allow else { return false }
            if let principal = statement.principal, !principal.matches(identity) { return false }
            if let notPrincipal = statement.notPrincipal, notPrincipal.matches(identity) { return false }
            if let actions = statement.actions, !actions.contains(where: { Wildcard.matches($0, action, caseInsensitive: true) }) { return false }
            if let notActions = statement.notActions, notActions.contains(where: { Wildcard.matches($0, action, caseInsensitive: true) }) { return false }
            // A resource pattern some object ARN of the bucket can match (patterns with policy
            // variables count, as their values are not known here), or a NotResource.
            if let resources = statement.resources {
                return resources.contains { pattern in
                    pattern.contains("${") || Wildcard.Matcher(pattern).matchesSomeValue(startingWith: "arn:aws:s3:::\(bucket)/")
                }
            }
            return true
        }
    }

    /// Whether the policy grants anything to everyone without a condition pinning the caller
    /// down (source IP, account, ...): S3's `PolicyStatus.IsPublic`.
    public var isPublic: Bool {
        statements.contains { statement in
            guard statement.effect == .allow else { return false }
            let everyone = statement.principal == .everyone || statement.notPrincipal != nil
            let restricting: Set<String> = [
                "aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:principalaccount", "aws:principalarn",
                "aws:principalorgid", "aws:sourcearn", "aws:sourceaccount", "aws:userid", "aws:sourceorgid",
            ]
            return everyone && !statement.conditions.contains { restricting.contains($0.key) && !$0.operation.isNegatedOperator }
        }
    }
}

extension ConditionOperator {
    var isNegatedOperator: Bool { kind.isNegated }
}

extension BucketPolicy.Statement {
    func matches(_ request: PolicyRequest, substitutingVariables: Bool = true) -> Bool {
        if let principal, !principal.matches(request.identity) { return false }
        if let notPrincipal, notPrincipal.matches(request.identity) { return false }
        if let actions, !actions.contains(where: { Wildcard.matches($0, request.action, caseInsensitive: true) }) { return false }
        if let notActions, notActions.contains(where: { Wildcard.matches($0, request.action, caseInsensitive: true) }) { return false }
        let resolve: (String) -> String? = { pattern in
            substitutingVariables ? PolicyVariables.substitute(pattern, request.conditionValues) : pattern
        }
        if let resources, !resources.contains(where: { resolve($0).map { Wildcard.matches($0, request.resource) } ?? false }) { return false }
        if let notResources, notResources.contains(where: { resolve($0).map { Wildcard.matches($0, request.resource) } ?? false }) { return false }
        return conditions.allSatisfy { condition in
            condition.operation.evaluate(
                requestValues: request.conditionValues[condition.key], policyValues: condition.values.compactMap(resolve)
            )
        }
    }
}

/// IAM policy variables (`${aws:username}`, `${aws:PrincipalAccount}`, ...) in resources and
/// condition values, replaced by the request's value of that key; `${*}`, `${?}` and `${$}`
/// stand for the literal characters. A variable the request has no single value for makes
/// the pattern match nothing, as IAM does.
enum PolicyVariables {
    static func substitute(_ pattern: String, _ values: [String: [String]]) -> String? {
        guard pattern.contains("${") else { return pattern }
        var result = ""
        var rest = Substring(pattern)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                result += rest[open.lowerBound...]
                return result
            }
            let name = rest[open.upperBound..<close]
            switch name {
            case "*": result.unicodeScalars.append(Wildcard.literalStar)
            case "?": result.unicodeScalars.append(Wildcard.literalQuestionMark)
            case "$": result += "$"
            default:
                guard let value = values[name.lowercased()], value.count == 1 else { return nil }
                // A value's own `*` and `?` are literal, not wildcards.
                for scalar in value[0].unicodeScalars {
                    switch scalar {
                    case "*": result.unicodeScalars.append(Wildcard.literalStar)
                    case "?": result.unicodeScalars.append(Wildcard.literalQuestionMark)
                    default: result.unicodeScalars.append(scalar)
                    }
                }
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}

extension BucketPolicy.Principal {
    func matches(_ identity: S3Identity) -> Bool {
        switch self {
        case .everyone:
            return true
        case .listed(let aws, let canonicalUsers):
            guard !identity.isAnonymous else { return false }
            if canonicalUsers.contains(identity.canonicalUserID) { return true }
            let account = identity.accountID
            return aws.contains { entry in
                // An account id or account root ARN names every user of that account (they have
                // no IAM policies of their own here to narrow it); a user ARN names one user.
                if let account, entry == account || entry == "arn:aws:iam::\(account):root" { return true }
                return entry == identity.principalARN
            }
        }
    }
}
