import HTTPTypes
import StowageCore

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
