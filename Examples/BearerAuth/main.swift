// Replacing SigV4 with a custom authentication stage through the plugin registry.
//
//     swift run BearerAuthExample /tmp/bearer-data 9000
//     curl -X PUT -H 'Authorization: Bearer alice-token' http://127.0.0.1:9000/photos
//     curl -X PUT -H 'Authorization: Bearer alice-token' --data-binary @cat.jpg http://127.0.0.1:9000/photos/cat.jpg
//     curl http://127.0.0.1:9000/photos/cat.jpg                  # 403 AccessDenied: anonymous
//
// The stage maps bearer tokens to the identities of configured credentials; the built-in
// policy stage then authorizes exactly as it does for SigV4 (owners, bucket policies, ACLs).
import HTTPTypes
import Logging
import Stowage
import StowageCore

/// Authenticates `Authorization: Bearer <token>`: a known token acts as its user, no header is
/// anonymous, an unknown token is refused. Errors are S3 errors, rendered by the XML stage.
struct BearerTokenStage: S3Stage {
    let users: [String: S3Identity]

    func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
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

let arguments = CommandLine.arguments
var configuration = StowageConfiguration()
configuration.storage.directory = arguments.count > 1 ? arguments[1] : "/tmp/stowage-bearer"
configuration.server.port = arguments.count > 2 ? Int(arguments[2]) ?? 9000 : 9000
configuration.server.address = "127.0.0.1"
configuration.auth.enabled = true
configuration.auth.credentials = [
    .init(accessKeyId: "alice", secretAccessKey: "unused-by-bearer-auth", name: "alice", accountId: "111111111111"),
    .init(accessKeyId: "bob", secretAccessKey: "unused-by-bearer-auth", name: "bob", accountId: "222222222222"),
]
// The built-in order with "bearer" where "sigv4" would be.
configuration.pipeline.stages = ["xml", "routing", "cors", "bearer", "policy"]

var registry = PluginRegistry.builtIn
registry.registerStage("bearer", role: .authentication) { environment in
    let credentials = environment.configuration.auth.credentials
    return BearerTokenStage(users: [
        "alice-token": credentials[0].identity,
        "bob-token": credentials[1].identity,
    ])
}

let server = try await Stowage.createAndStart(configuration, registry: registry, logger: Logger(label: "bearer-example"))
print("S3 with bearer-token auth on \(server.storageDescriptor().endpointURL)")
while true { try await Task.sleep(for: .seconds(3600)) }
