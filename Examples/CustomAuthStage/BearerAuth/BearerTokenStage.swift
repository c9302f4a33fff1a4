import HTTPTypes
import Stowage
public import StowageCore

/// Authenticates `Authorization: Bearer <token>`: a known token acts as its user, no header is
/// anonymous, an unknown token is refused. Errors are S3 errors, rendered by the XML stage.
/// It replaces SigV4; the built-in policy stage then authorizes its identities exactly as it
/// does SigV4's (owners, bucket policies, canned ACLs).
public struct BearerTokenStage: S3Stage {
    public let users: [String: S3Identity]

    public init(users: [String: S3Identity]) {
        self.users = users
    }

    public var role: S3StageRole { .authentication }

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        var context = context
        guard let header = request.headers[.authorization] else {
            context.identity = .anonymous
            return try await next(request, context)
        }
        guard header.hasPrefix("Bearer "), let identity = users[String(header.dropFirst("Bearer ".count))] else {
            throw S3Error(.accessDenied, message: "The bearer token is not valid.")
        }
        context.identity = identity
        return try await next(request, context)
    }
}

extension PluginRegistry {
    /// The built-in plugins plus a `bearer` authentication stage with these tokens, each mapped
    /// to the credential (by access key id) whose identity it grants.
    public static func withBearerAuth(tokens: [String: String]) -> PluginRegistry {
        var registry = PluginRegistry.builtIn
        registry.registerStage("bearer") { environment in
            let identities = Dictionary(environment.configuration.auth.credentials.map { ($0.accessKeyId, $0.identity) }, uniquingKeysWith: { a, _ in a })
            return BearerTokenStage(users: tokens.compactMapValues { identities[$0] })
        }
        return registry
    }
}

extension StowageConfiguration {
    /// Authentication on, with `bearer` where `sigv4` is in the default pipeline.
    public static func bearerAuth(users: [Credential]) -> StowageConfiguration {
        var configuration = StowageConfiguration()
        configuration.auth.enabled = true
        configuration.auth.credentials = users
        configuration.pipeline.stages = ["xml", "routing", "cors", "bearer", "policy"]
        return configuration
    }
}
