import HTTPTypes
import NIOCore
public import StowageCore

/// Answers browsers: preflight `OPTIONS` requests from the matching CORS rule (before
/// authentication, since browsers never sign a preflight), and `Access-Control-*` plus
/// `Vary: Origin` on actual responses, error responses included, so a page can read why a
/// request failed.
///
/// The rules are the bucket's own (`PutBucketCors`) when it has some, else the server-wide
/// `cors` configuration when `cors.enabled` is true, else none: preflights are then refused
/// with `403 CORSResponse`, as S3 does for a bucket without CORS.
///
/// ```swift
/// let stage = CORSStage(backend: backend, global: configuration.cors)
/// ```
public struct CORSStage: S3Stage {
    public let backend: (any StorageBackend)?
    private let cache = BucketConfigurationCache<CORSRuleSet?>()
    public let global: CORSRuleSet?

    public init(backend: (any StorageBackend)?, global: StowageConfiguration.CORS) {
        self.backend = backend
        self.global = global.enabled ? CORSRuleSet(global) : nil
    }

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        let isPreflight = if case .corsPreflight = context.operation { true } else { false }
        guard let origin = request.headers[.origin] else {
            if isPreflight {
                throw S3Error(.badRequest, message: "Insufficient information. Origin request header needed.")
            }
            return try await next(request, context)
        }
        let rules = try await ruleSet(bucket: context.operation?.bucket, context: context)
        if isPreflight {
            return try preflight(request, origin: origin, rules: rules)
        }
        guard let rules else { return try await next(request, context) }
        let match = rules.match(origin: origin, method: request.method.rawValue)
        do {
            var response = try await next(request, context)
            Self.decorate(&response.headers, match: match)
            return response
        } catch {
            var failure = S3Error.wrapping(error)
            Self.decorate(&failure.headers, match: match)
            throw failure
        }
    }

    private func preflight(_ request: S3Request, origin: String, rules: CORSRuleSet?) throws -> S3Response {
        guard let method = request.headers[.accessControlRequestMethod], !method.isEmpty else {
            throw S3Error(.badRequest, message: "Invalid Access-Control-Request-Method: null")
        }
        let requested = CORSRuleSet.requestedHeaders(request.headers[.accessControlRequestHeaders])
        guard let rules, let match = rules.match(origin: origin, method: method, requestHeaders: requested) else {
            throw S3Error(
                .corsResponse,
                message: "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
            )
        }
        var headers = HTTPFields()
        Self.decorate(&headers, match: match)
        if !requested.isEmpty { headers[.accessControlAllowHeaders] = requested.joined(separator: ", ") }
        if let age = match.rule.maxAgeSeconds { headers[.accessControlMaxAge] = String(age) }
        headers[.vary] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
        headers[.contentLength] = "0"
        return S3Response(status: .ok, headers: headers)
    }

    /// The headers a matching rule adds to a response; without a match only `Vary: Origin`,
    /// so caches never serve one origin's answer to another.
    static func decorate(_ headers: inout HTTPFields, match: CORSRuleSet.Match?) {
        headers[.vary] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
        guard let match else { return }
        headers[.accessControlAllowOrigin] = match.allowOrigin
        headers[.accessControlAllowMethods] = match.rule.allowedMethods.joined(separator: ", ")
        if match.allowCredentials { headers[.accessControlAllowCredentials] = "true" }
        if !match.rule.exposeHeaders.isEmpty {
            headers[.accessControlExposeHeaders] = match.rule.exposeHeaders.joined(separator: ", ")
        }
        if let age = match.rule.maxAgeSeconds { headers[.accessControlMaxAge] = String(age) }
    }

    /// The bucket's rules, else the global ones. Parsed once per configuration version of the
    /// bucket, not per request.
    private func ruleSet(bucket: String?, context: S3Context) async throws -> CORSRuleSet? {
        guard let bucket, let backend, let documents = context.documents else { return global }
        do {
            let info = try await backend.bucket(bucket)
            let stored = try await cache.value(for: info) {
                try await backend.bucketConfiguration(bucket, kind: .cors).map { CORSRuleSet(try documents.decodeCORSConfiguration(.init(bytes: $0))) }
            }
            return stored ?? global
        } catch let error as S3Error where error.code == .noSuchBucket {
            return global
        }
    }
}
