import Foundation
import HTTPTypes
import NIOCore
import StowageCore
import StowageRouting
import Synchronization

/// Routes `/_stowage/<name>...` to the endpoints `server.endpoints` selected from the registry
/// (built in: `health`, `metrics`, `reset`): no bucket can be named `_stowage` (bucket names
/// cannot contain `_`), so these paths never shadow S3 requests. Virtual-hosted requests
/// (`bucket.domain/_stowage/...`) stay object keys.
struct OperationsEndpoints: Sendable {
    static let prefix = "/_stowage/"

    let endpoints: [String: any HostEndpoint]
    let domains: [String]

    func handles(_ request: S3Request) -> Bool {
        request.rawPath.hasPrefix(Self.prefix) && S3RequestRouter.virtualHostBucket(request.host, domains: domains) == nil
    }

    /// `secure`: the request came over TLS (metrics then accept HTTP Basic credentials).
    func respond(to request: S3Request, secure: Bool = false) async -> S3Response {
        let rest = request.rawPath.dropFirst(Self.prefix.count)
        let name = rest.prefix { $0 != "/" }
        guard let endpoint = endpoints[String(name)] else {
            let known = endpoints.keys.sorted().map { "/_stowage/\($0)" }.joined(separator: ", ")
            return .text(.notFound, "no such endpoint; served here: \(known)\n")
        }
        return await endpoint.respond(to: request, context: HostEndpointContext(subpath: String(rest.dropFirst(name.count)), secure: secure))
    }
}

/// `GET /_stowage/health/live`: 200 while the process serves. `GET /_stowage/health/ready`:
/// 200 once started and while the backend serves (`ready`, or `degraded` with a line per
/// component that is not ok), 503 before the start, while stopping, or when the backend is
/// unavailable. `Accept: application/json` (or `?format=json`) gives the backend's health as
/// JSON: `{"status": "ok", "components": [...]}`.
struct HealthEndpoint: HostEndpoint {
    let isReady: @Sendable () -> Bool
    let backend: (any StorageBackend)?

    func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response {
        guard request.method == .get || request.method == .head else { return .text(.methodNotAllowed, "method not allowed\n") }
        switch context.subpath {
        case "/live":
            return .text(.ok, "live\n")
        case "/ready":
            let health = isReady() ? await backend?.health() ?? .ok : nil
            let status: HTTPResponse.Status = health == nil || health?.status == .unavailable ? .serviceUnavailable : .ok
            if request.headers[.accept]?.contains("application/json") == true || request.query["format"] == "json" {
                return .text(status, (health?.json ?? "{\"status\":\"not ready\",\"components\":[]}") + "\n", contentType: "application/json")
            }
            // Plain text for probes and people: the verdict, then a line per component not ok.
            var text = health.map { $0.status == .ok ? "ready\n" : "\($0.status.rawValue)\n" } ?? "not ready\n"
            for component in health?.components ?? [] where component.status != .ok {
                text += "\(component.name): \(component.status.rawValue)\(component.detail.map { " (\($0))" } ?? "")\n"
            }
            return .text(status, text)
        default:
            return .text(.notFound, "no such endpoint; see /_stowage/health/live, /_stowage/health/ready\n")
        }
    }
}

/// `GET /_stowage/metrics`: Prometheus text format, behind `MetricsGate`.
struct MetricsEndpoint: HostEndpoint {
    let render: @Sendable () async -> [UInt8]
    let access: MetricsGate

    func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response {
        guard context.subpath.isEmpty else { return .text(.notFound, "no such endpoint; see /_stowage/metrics\n") }
        guard request.method == .get || request.method == .head else { return .text(.methodNotAllowed, "method not allowed\n") }
        guard access.allows(request, secure: context.secure) else {
            var response = S3Response.text(.unauthorized, "metrics need credentials: Authorization: Bearer <server.metrics.bearerToken>, or over HTTPS Basic with an access key and secret\n")
            response.headers[.wwwAuthenticate] = context.secure ? "Basic realm=\"stowage metrics\"" : "Bearer realm=\"stowage metrics\""
            return response
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return S3Response(status: .ok, headers: headers, body: .bytes(ByteBuffer(bytes: await render())))
    }
}

/// `GET /_stowage/cluster`: the backend's `clusterStatus` as JSON (nodes, drives, erasure
/// sets, and for a multi-process cluster the membership as this node sees it); what
/// `stowage cluster status` prints. Behind the same gate as the metrics; 404 for a backend that
/// is not a cluster.
struct ClusterStatusEndpoint: HostEndpoint {
    let backend: (any StorageBackend)?
    let access: MetricsGate

    func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response {
        guard context.subpath.isEmpty else { return .text(.notFound, "no such endpoint; see /_stowage/cluster\n") }
        guard request.method == .get || request.method == .head else { return .text(.methodNotAllowed, "method not allowed\n") }
        guard access.allows(request, secure: context.secure) else {
            return .text(.unauthorized, "cluster status needs the metrics credentials\n")
        }
        guard let cluster = backend as? any ClusterStatusSource else {
            return .text(.notFound, "this server's backend is not a cluster\n")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(await cluster.clusterStatus())) ?? Data()
        return .text(.ok, String(decoding: body, as: UTF8.self) + "\n", contentType: "application/json")
    }
}

/// `POST /_stowage/reset` (only with `server.adminReset`, never with authentication on):
/// empties and removes every bucket, like moto's reset API.
struct ResetEndpoint: HostEndpoint {
    let backend: (any StorageBackend)?
    let enabled: Bool

    func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response {
        guard context.subpath.isEmpty else { return .text(.notFound, "no such endpoint; see /_stowage/reset\n") }
        guard request.method == .post else { return .text(.methodNotAllowed, "method not allowed\n") }
        guard enabled, let backend else {
            return .text(.forbidden, "reset is disabled; start the server with server.adminReset: true\n")
        }
        do {
            let removed = try await reset(backend)
            return .text(.ok, "{\"removedBuckets\":\(removed)}\n", contentType: "application/json")
        } catch {
            return .text(.internalServerError, "reset failed: \(S3Error.wrapping(error).message)\n")
        }
    }

    /// Deletes every object and bucket (in-progress uploads go with their bucket).
    private func reset(_ backend: any StorageBackend) async throws -> Int {
        let buckets = try await backend.listBuckets()
        for bucket in buckets {
            while true {
                let page = try await backend.listObjects(bucket: bucket.name, query: ListObjectsQuery(maxKeys: 1000))
                if page.objects.isEmpty { break }
                // A key that will not go would make this loop forever: stop at the first failure.
                for case .failure(let error) in try await backend.deleteObjects(bucket: bucket.name, keys: page.objects.map(\.key)) {
                    throw error
                }
            }
            try await backend.deleteBucket(bucket.name)
        }
        return buckets.count
    }
}

extension PluginRegistry {
    /// The built-in endpoints: `health`, `metrics`, `reset`.
    mutating func registerBuiltInEndpoints() {
        registerEndpoint("health") { environment in
            let host = environment.host
            // Outside a running host nothing says it is ready.
            return HealthEndpoint(isReady: { host?.isReady() ?? false }, backend: environment.backend)
        }
        registerEndpoint("metrics") { environment in
            let host = environment.host
            return MetricsEndpoint(render: { await host?.renderMetrics() ?? [] }, access: MetricsGate(environment.configuration))
        }
        registerEndpoint("cluster") { environment in
            ClusterStatusEndpoint(backend: environment.backend, access: MetricsGate(environment.configuration))
        }
        registerEndpoint("reset") { environment in
            // Also for servers assembled by hand, which skip `validate()`: never unauthenticated
            // wiping on a server that authenticates.
            let configuration = environment.configuration
            return ResetEndpoint(backend: environment.backend, enabled: configuration.server.adminReset && !configuration.auth.enabled)
        }
    }
}

/// Whether the server is ready for traffic: set once started, cleared when stopping.
final class ReadyFlag: Sendable {
    private let value = Atomic(false)
    var isReady: Bool { value.load(ordering: .relaxed) }
    func set(_ ready: Bool) { value.store(ready, ordering: .relaxed) }
}
