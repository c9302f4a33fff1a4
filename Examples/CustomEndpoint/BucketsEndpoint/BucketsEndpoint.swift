import HTTPTypes
import Stowage
public import StowageCore

/// An operations endpoint of your own beside health and metrics: `GET /_stowage/buckets`
/// answers the bucket names and owners as JSON, outside the S3 pipeline (no signature, so serve
/// it only where that is fine, or check a header here).
///
/// ```swift
/// var registry = PluginRegistry.builtIn
/// registry.registerEndpoint("buckets") { environment in BucketsEndpoint(backend: try environment.requireBackend(for: "buckets")) }
/// configuration.server.endpoints.append("buckets")
/// ```
public struct BucketsEndpoint: HostEndpoint {
    let backend: any StorageBackend

    public init(backend: any StorageBackend) { self.backend = backend }

    public func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response {
        guard context.subpath.isEmpty else { return .text(.notFound, "no such endpoint\n") }
        guard request.method == .get else { return .text(.methodNotAllowed, "GET only\n") }
        do {
            let buckets = try await backend.listBuckets()
            let items = buckets.map { "{\"name\":\"\($0.name)\",\"owner\":\"\($0.ownerID)\"}" }
            return .text(.ok, "[\(items.joined(separator: ","))]\n", contentType: "application/json")
        } catch {
            return .text(.serviceUnavailable, "\(S3Error.wrapping(error).message)\n")
        }
    }
}

extension PluginRegistry {
    /// The built-in plugins plus the `buckets` endpoint (select it in `server.endpoints`).
    public static var withBucketsEndpoint: PluginRegistry {
        var registry = PluginRegistry.builtIn
        registry.registerEndpoint("buckets") { environment in
            BucketsEndpoint(backend: try environment.requireBackend(for: "buckets"))
        }
        return registry
    }
}
