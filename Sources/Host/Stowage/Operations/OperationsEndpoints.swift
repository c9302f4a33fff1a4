import HTTPTypes
import NIOCore
import StowageCore
import StowageRouting
import Synchronization

/// Health, metrics and the opt-in test reset, under `/_stowage/`: no bucket can be named
/// `_stowage` (bucket names cannot contain `_`), so these paths never shadow S3 requests.
/// Virtual-hosted requests (`bucket.domain/_stowage/...`) stay object keys.
///
/// - `GET /_stowage/health/live`: 200 while the process serves.
/// - `GET /_stowage/health/ready`: 200 once the backend is open, 503 while stopping.
/// - `GET /_stowage/metrics`: Prometheus text format.
/// - `POST /_stowage/reset` (only with `server.adminReset`): empties and removes every bucket.
struct OperationsEndpoints: Sendable {
    static let prefix = "/_stowage/"

    let metrics: ServerMetrics
    let backend: any StorageBackend
    let domains: [String]
    let adminReset: Bool
    let metricsAccess: MetricsGate
    let ready = ReadyFlag()

    init(metrics: ServerMetrics, backend: any StorageBackend, domains: [String], adminReset: Bool, metricsAccess: MetricsGate = .open) {
        self.metrics = metrics
        self.backend = backend
        self.domains = domains
        self.adminReset = adminReset
        self.metricsAccess = metricsAccess
    }

    func handles(_ request: S3Request) -> Bool {
        request.rawPath.hasPrefix(Self.prefix) && S3RequestRouter.virtualHostBucket(request.host, domains: domains) == nil
    }

    /// `secure`: the request came over TLS (metrics then accept HTTP Basic credentials).
    func respond(to request: S3Request, secure: Bool = false) async -> S3Response {
        let readOnly = request.method == .get || request.method == .head
        switch request.rawPath {
        case "/_stowage/health/live" where readOnly:
            return Self.text(.ok, "live\n")
        case "/_stowage/health/ready" where readOnly:
            return ready.isReady ? Self.text(.ok, "ready\n") : Self.text(.serviceUnavailable, "not ready\n")
        case "/_stowage/metrics" where readOnly:
            guard metricsAccess.allows(request, secure: secure) else {
                var response = Self.text(.unauthorized, "metrics need credentials: Authorization: Bearer <server.metrics.bearerToken>, or over HTTPS Basic with an access key and secret\n")
                response.headers[.wwwAuthenticate] = secure ? "Basic realm=\"stowage metrics\"" : "Bearer realm=\"stowage metrics\""
                return response
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return S3Response(status: .ok, headers: headers, body: .bytes(ByteBuffer(bytes: await metrics.render(backend: backend))))
        case "/_stowage/reset" where request.method == .post:
            guard adminReset else {
                return Self.text(.forbidden, "reset is disabled; start the server with server.adminReset: true\n")
            }
            do {
                let removed = try await reset()
                return Self.text(.ok, "{\"removedBuckets\":\(removed)}\n", contentType: "application/json")
            } catch {
                return Self.text(.internalServerError, "reset failed: \(S3Error.wrapping(error).message)\n")
            }
        case "/_stowage/health/live", "/_stowage/health/ready", "/_stowage/metrics", "/_stowage/reset":
            return Self.text(.methodNotAllowed, "method not allowed\n")
        default:
            return Self.text(.notFound, "no such endpoint; see /_stowage/health/live, /_stowage/health/ready, /_stowage/metrics\n")
        }
    }

    /// Deletes every object and bucket, like moto's reset API (in-progress uploads go with
    /// their bucket).
    private func reset() async throws -> Int {
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

    private static func text(_ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8") -> S3Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return S3Response(status: status, headers: headers, body: .bytes(ByteBuffer(string: body)))
    }
}

/// Whether the server is ready for traffic: set once started, cleared when stopping.
final class ReadyFlag: Sendable {
    private let value = Atomic(false)
    var isReady: Bool { value.load(ordering: .relaxed) }
    func set(_ ready: Bool) { value.store(ready, ordering: .relaxed) }
}

/// Who may read `/_stowage/metrics` (see `StowageConfiguration.MetricsAccess`). HTTP Basic
/// carries an S3 secret in the clear, so it counts only over TLS; the bearer token is a
/// scrape-only secret and counts everywhere.
struct MetricsGate: Sendable {
    /// Accepted `Authorization` values, compared in constant time; `nil`: open to anyone.
    let accepted: [[UInt8]]?

    static let open = MetricsGate(accepted: nil)

    init(accepted: [[UInt8]]?) { self.accepted = accepted }

    static let basicPrefix = Array("Basic ".utf8)

    init(_ configuration: StowageConfiguration) {
        guard configuration.auth.enabled, configuration.server.metrics.authenticate else {
            self.init(accepted: nil)
            return
        }
        var accepted = configuration.auth.credentials.map { credential in
            Array("Basic \(Base64.encode(Array("\(credential.accessKeyId):\(credential.secretAccessKey)".utf8)))".utf8)
        }
        if let token = configuration.server.metrics.bearerToken { accepted.append(Array("Bearer \(token)".utf8)) }
        self.init(accepted: accepted)
    }

    func allows(_ request: S3Request, secure: Bool) -> Bool {
        guard let accepted else { return true }
        guard let presented = request.headers[.authorization].map({ Array($0.trimmingSpaces().utf8) }) else { return false }
        if !secure, presented.starts(with: Self.basicPrefix) { return false }
        // Every candidate is compared, so the time taken does not tell which one came close.
        return accepted.reduce(false) { found, candidate in ConstantTime.equals(candidate, presented) || found }
    }
}
