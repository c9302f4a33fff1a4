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

/// The stage's configuration section, `plugins.bearer`, decoded strictly: an unknown field or
/// a token naming no credential is an error that names the field.
///
/// ```json
/// {"plugins": {"bearer": {"tokens": {"alice-token": "alice", "bob-token": "bob"}}}}
/// ```
public struct BearerSection: Decodable, Sendable {
    /// Token → the access key id of the credential whose identity it grants.
    public var tokens: [String: String]

    enum CodingKeys: String, CodingKey, CaseIterable { case tokens }

    public init(from decoder: any Decoder) throws {
        try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
        tokens = try decoder.container(keyedBy: CodingKeys.self).decode([String: String].self, forKey: .tokens)
    }
}

extension PluginRegistry {
    /// The built-in plugins plus a `bearer` authentication stage that takes its tokens from the
    /// configuration section `plugins.bearer`.
    public static var withBearerAuth: PluginRegistry {
        var registry = PluginRegistry.builtIn
        registry.registerConfigurationSection("bearer")
        registry.registerStage("bearer") { environment in
            guard let section = try environment.section("bearer", as: BearerSection.self) else {
                throw ConfigurationError(field: "plugins.bearer", reason: "is required by the bearer stage: {\"tokens\": {\"<token>\": \"<accessKeyId>\"}}")
            }
            let identities = Dictionary(environment.configuration.auth.credentials.map { ($0.accessKeyId, $0.identity) }, uniquingKeysWith: { a, _ in a })
            var users: [String: S3Identity] = [:]
            for (token, accessKeyID) in section.tokens {
                guard let identity = identities[accessKeyID] else {
                    throw ConfigurationError(field: "plugins.bearer.tokens.\(token)", reason: "names '\(accessKeyID)', which is not the accessKeyId of any auth.credentials entry")
                }
                users[token] = identity
            }
            return BearerTokenStage(users: users)
        }
        return registry
    }
}

extension StowageConfiguration {
    /// Authentication on, with `bearer` where `sigv4` is in the default pipeline, and the tokens
    /// in its section (token → access key id).
    public static func bearerAuth(users: [Credential], tokens: [String: String]) -> StowageConfiguration {
        var configuration = StowageConfiguration()
        configuration.auth.enabled = true
        configuration.auth.credentials = users
        configuration.pipeline.stages = ["xml", "routing", "cors", "bearer", "policy"]
        configuration.plugins["bearer"] = .object(["tokens": .object(tokens.mapValues { .string($0) })])
        return configuration
    }
}
