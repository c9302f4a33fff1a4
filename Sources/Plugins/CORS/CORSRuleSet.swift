import Foundation
public import StowageCore

/// CORS rules and how a browser request is matched against them (pure; no I/O).
///
/// A rule matches when the `Origin` matches one of its origins (one `*` wildcard allowed, so
/// `http://*.example.com`), the method (the request's, or `Access-Control-Request-Method` for a
/// preflight) is one of its methods, and every header in `Access-Control-Request-Headers`
/// matches one of its allowed headers (case-insensitively, `*` wildcards). First match wins.
///
/// ```swift
/// let rules = CORSRuleSet(configuration)
/// if let match = rules.match(origin: "http://app.example.com", method: "PUT", requestHeaders: ["content-type"]) { ... }
/// ```
public struct CORSRuleSet: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var allowedOrigins: [String]
        public var allowedMethods: [String]
        public var allowedHeaders: [String]
        public var exposeHeaders: [String]
        public var maxAgeSeconds: Int?
        /// Whether `Access-Control-Allow-Credentials: true` is sent (then the origin is echoed even
        /// for a `*` rule, as browsers require). `nil` is S3's behaviour: credentials are allowed
        /// exactly when the matching origin pattern is not `*`.
        public var allowCredentials: Bool?

        public init(allowedOrigins: [String], allowedMethods: [String], allowedHeaders: [String], exposeHeaders: [String], maxAgeSeconds: Int?, allowCredentials: Bool?) {
            self.allowedOrigins = allowedOrigins
            self.allowedMethods = allowedMethods
            self.allowedHeaders = allowedHeaders
            self.exposeHeaders = exposeHeaders
            self.maxAgeSeconds = maxAgeSeconds
            self.allowCredentials = allowCredentials
        }
    }

    /// The rule that matched and the `Access-Control-Allow-Origin` value it yields.
    public struct Match: Sendable, Equatable {
        public var rule: Rule
        /// `*` when the rule allows any origin without credentials; the request's origin otherwise.
        public var allowOrigin: String
        public var allowCredentials: Bool
    }

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    /// A bucket's `PutBucketCors` configuration. S3 sends `Access-Control-Allow-Credentials: true`
    /// whenever the matching origin is not `*`.
    public init(_ configuration: CORSConfiguration) {
        rules = configuration.rules.map {
            Rule(
                allowedOrigins: $0.allowedOrigins, allowedMethods: $0.allowedMethods, allowedHeaders: $0.allowedHeaders,
                exposeHeaders: $0.exposeHeaders, maxAgeSeconds: $0.maxAgeSeconds, allowCredentials: nil
            )
        }
    }

    /// The server-wide `cors` section of the configuration.
    public init(_ global: StowageConfiguration.CORS) {
        rules = [
            Rule(
                allowedOrigins: global.allowedOrigins, allowedMethods: global.allowedMethods.map { $0.uppercased() },
                allowedHeaders: global.allowedHeaders, exposeHeaders: global.exposedHeaders, maxAgeSeconds: global.maxAge,
                allowCredentials: global.allowCredentials
            )
        ]
    }

    public func match(origin: String, method: String, requestHeaders: [String] = []) -> Match? {
        for rule in rules {
            guard let originPattern = rule.allowedOrigins.first(where: { Self.wildcard($0, origin, caseInsensitive: false) }) else { continue }
            guard rule.allowedMethods.contains(method) else { continue }
            let headersAllowed = requestHeaders.allSatisfy { header in
                rule.allowedHeaders.contains { Self.wildcard($0, header, caseInsensitive: true) }
            }
            guard headersAllowed else { continue }
            let anyOrigin = originPattern == "*"
            let credentials = rule.allowCredentials ?? !anyOrigin
            return Match(rule: rule, allowOrigin: anyOrigin && !credentials ? "*" : origin, allowCredentials: credentials)
        }
        return nil
    }

    /// `*` matches any run of characters; CORS patterns hold at most one.
    static func wildcard(_ pattern: String, _ value: String, caseInsensitive: Bool) -> Bool {
        let pattern = caseInsensitive ? pattern.lowercased() : pattern
        let value = caseInsensitive ? value.lowercased() : value
        guard let star = pattern.firstIndex(of: "*") else { return pattern == value }
        let prefix = pattern[..<star]
        let suffix = pattern[pattern.index(after: star)...]
        return value.count >= prefix.count + suffix.count && value.hasPrefix(prefix) && value.hasSuffix(suffix)
    }

    /// Splits `Access-Control-Request-Headers` (`content-type, x-amz-date`) into lower-cased names.
    public static func requestedHeaders(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }
}
