public import Logging
/// The whole configuration of a Stowage server. Every field is optional in JSON and defaults
/// to the documented value; unknown fields are rejected, naming the field.
///
/// ```swift
/// var configuration = StowageConfiguration()
/// configuration.server.port = 0              // any free port
/// configuration.storage.directory = "/tmp/s3"
/// configuration.storage.cleanSlate = true
/// ```
///
/// The same structure is read from a JSON file (`stowage serve --config stowage.json`):
/// `{"server": {"port": 9000}, "storage": {"directory": "./data", "cleanSlate": true}}`.
public struct StowageConfiguration: Codable, Sendable, Equatable {
    public var server = Server()
    public var storage = Storage()
    public var auth = Auth()
    public var cors = CORS()
    public var logging = Logging()
    public var limits = Limits()
    public var multipart = Multipart()
    public var pipeline = Pipeline()
    /// The erasure-coded backend (``Cluster``); off by default.
    public var cluster = Cluster()
    /// Sections owned by plugins, by the name each registered
    /// (``PluginRegistry/registerConfigurationSection(_:)``): `{"plugins": {"bearer": {...}}}`.
    /// Each is decoded strictly by its plugin; a section no plugin registered is an error.
    public var plugins: [String: ConfigurationValue] = [:]

    public init() {}

    public struct Server: Codable, Sendable, Equatable {
        public var port: Int = 3000
        public var address: String = "0.0.0.0"
        public var silent: Bool = false
        public var region: String = "us-east-1"
        /// Domains for virtual-hosted-style requests: with `localhost` here, `photos.localhost:3000/cat.jpg`
        /// addresses the key `cat.jpg` in the bucket `photos`. Path-style requests always work.
        public var domains: [String] = ["localhost"]
        /// Enables `POST /_stowage/reset`, which deletes every bucket and object (for tests, like
        /// moto's reset API). Off by default: it is unauthenticated.
        public var adminReset: Bool = false
        /// Milliseconds that stopping waits for requests in progress before cutting them off.
        public var shutdownGracePeriod: Int = 10_000
        /// HTTPS on the S3 endpoint; off (plain HTTP) by default.
        public var tls = TLS()
        /// Who may read `/_stowage/metrics`.
        public var metrics = MetricsAccess()
        /// The `/_stowage/<name>` endpoints served, by registered name (built in: `health`,
        /// `metrics`, `cluster`, `reset`; `reset` still answers 403 unless `adminReset` is on).
        public var endpoints: [String] = ["health", "metrics", "cluster", "reset"]
        public init() {}
    }

    /// Access to `/_stowage/metrics`. With `auth.enabled` it is protected by default: a scraper
    /// sends `Authorization: Bearer <bearerToken>` (when one is set) or, over HTTPS only, HTTP
    /// Basic with a configured credential's access key and secret; anything else is 401. Without
    /// auth, or with `authenticate: false`, anyone may read it. Health endpoints are always open.
    ///
    /// ```json
    /// {"auth": {"enabled": true}, "server": {"metrics": {"bearerToken": "s3cr3t-scrape-token"}}}
    /// ```
    public struct MetricsAccess: Codable, Sendable, Equatable {
        public var bearerToken: String?
        /// Protect the endpoint when `auth.enabled` (the default); `false` leaves it open.
        public var authenticate: Bool = true
        public init() {}
    }

    /// HTTPS for the S3 endpoint: a certificate and key from PEM files, or a throwaway
    /// self-signed certificate made at start for local use.
    ///
    /// ```json
    /// {"server": {"tls": {"certificateFile": "/etc/stowage/cert.pem", "privateKeyFile": "/etc/stowage/key.pem"}}}
    /// ```
    public struct TLS: Codable, Sendable, Equatable {
        /// The certificate chain, PEM, the server's own certificate first.
        public var certificateFile: String?
        /// The certificate's private key, PEM.
        public var privateKeyFile: String?
        /// Make a self-signed certificate for localhost, 127.0.0.1 and ::1 at start; its SHA-256
        /// fingerprint is printed on standard error so a client can pin it.
        public var selfSigned: Bool = false
        public init() {}

        public var isEnabled: Bool { selfSigned || certificateFile != nil || privateKeyFile != nil }
    }

    public struct Storage: Codable, Sendable, Equatable {
        public var directory: String = ".nogit/bucketsDir"
        public var cleanSlate: Bool = false
        /// The backend plugin, by registry name.
        public var backend: String = "filestore"
        /// `fsync` object files, their directories and the index on every write. Off by
        /// default: writes are still atomic and survive a process crash, but not a power loss.
        public var fsync: Bool = false
        public init() {}
    }

    /// One user: an access key, its secret, and optionally the user's name and 12-digit account
    /// id, which make up its principal ARN `arn:aws:iam::<accountId>:user/<name>` in policies.
    public struct Credential: Codable, Sendable, Equatable {
        public var accessKeyId: String
        public var secretAccessKey: String
        /// Defaults to the access key id.
        public var name: String?
        /// Defaults to 12 digits derived from the access key id.
        public var accountId: String?
        public init(accessKeyId: String, secretAccessKey: String, name: String? = nil, accountId: String? = nil) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
            self.name = name
            self.accountId = accountId
        }

        /// The identity this credential authenticates.
        public var identity: S3Identity {
            S3Identity.forCredential(accessKeyID: accessKeyId, name: name, accountID: accountId)
        }
    }

    public struct Auth: Codable, Sendable, Equatable {
        public var enabled: Bool = false
        public var credentials: [Credential] = [Credential(accessKeyId: "STORAGE", secretAccessKey: "STORAGE")]
        public init() {}
    }

    public struct CORS: Codable, Sendable, Equatable {
        public var enabled: Bool = false
        public var allowedOrigins: [String] = ["*"]
        public var allowedMethods: [String] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]
        public var allowedHeaders: [String] = ["*"]
        public var exposedHeaders: [String] = ["ETag", "x-amz-request-id", "x-amz-version-id"]
        public var maxAge: Int = 86400
        public var allowCredentials: Bool = false
        public init() {}
    }

    public struct Logging: Codable, Sendable, Equatable {
        public var level: String = "info"
        public var format: String = "text"
        public var enabled: Bool = true
        public init() {}
    }

    public struct Limits: Codable, Sendable, Equatable {
        public var maxObjectSize: Int64 = S3Limits.maxUploadSize
        public var maxMetadataSize: Int = 2048
        /// Milliseconds.
        public var requestTimeout: Int = 300_000
        public init() {}
    }

    public struct Multipart: Codable, Sendable, Equatable {
        public var expirationDays: Int = 7
        public var cleanupIntervalMinutes: Int = 60
        public init() {}
    }

    public struct Pipeline: Codable, Sendable, Equatable {
        /// Stage names in order, outermost first, resolved through the plugin registry.
        ///
        /// - `xml` first: it renders every result and every error thrown further in.
        /// - `routing`: the operation decides everything after it (CORS rules are per bucket,
        ///   policies per action).
        /// - `cors` before authentication: browsers never sign preflights, and error responses
        ///   (a refused signature too) must carry `Access-Control-*` for the page to read them.
        /// - `sigv4`: who is asking, before anyone decides what they may do.
        /// - `policy`: authorization needs the identity and the operation.
        public var stages: [String] = ["xml", "routing", "cors", "sigv4", "policy"]
        public init() {}
    }

    /// The level `server.silent`, `logging.enabled` and `logging.level` select: errors only when
    /// silent or disabled.
    public var logLevel: Logger.Level {
        if server.silent || !logging.enabled { return .error }
        switch logging.level {
        case "error": return .error
        case "warn": return .warning
        case "debug": return .debug
        case "trace": return .trace
        default: return .info
        }
    }

    /// Checks values that decoding cannot; the error names the field.
    public func validate() throws(ConfigurationError) {
        guard (0...65535).contains(server.port) else { throw ConfigurationError(field: "server.port", reason: "must be 0...65535 (0 picks a free port)") }
        guard !server.address.isEmpty else { throw ConfigurationError(field: "server.address", reason: "must not be empty") }
        // Upper bounds keep the values inside what timers can hold (a day is plenty for either).
        guard (0...86_400_000).contains(server.shutdownGracePeriod) else {
            throw ConfigurationError(field: "server.shutdownGracePeriod", reason: "must be 0...86400000 (milliseconds)")
        }
        guard !server.region.isEmpty else { throw ConfigurationError(field: "server.region", reason: "must not be empty") }
        let tls = server.tls
        if tls.selfSigned, tls.certificateFile != nil || tls.privateKeyFile != nil {
            throw ConfigurationError(field: "server.tls.selfSigned", reason: "cannot be combined with a certificateFile and privateKeyFile")
        }
        if (tls.certificateFile == nil) != (tls.privateKeyFile == nil) {
            throw ConfigurationError(field: tls.certificateFile == nil ? "server.tls.certificateFile" : "server.tls.privateKeyFile",
                                     reason: "must be given together with the other")
        }
        for (index, domain) in server.domains.enumerated() {
            guard !domain.isEmpty, !domain.hasPrefix("."), !domain.contains(":"), !domain.contains("/") else {
                throw ConfigurationError(field: "server.domains[\(index)]", reason: "must be a host name such as s3.local.test (no port, scheme or leading dot)")
            }
        }
        // The reset endpoint answers anyone: on a server that authenticates, it would let an
        // anonymous caller wipe what the credentials protect.
        guard !(server.adminReset && auth.enabled) else {
            throw ConfigurationError(field: "server.adminReset", reason: "cannot be combined with auth.enabled: /_stowage/reset is unauthenticated")
        }
        var seenKeys: Set<String> = []
        guard !storage.directory.isEmpty else { throw ConfigurationError(field: "storage.directory", reason: "must not be empty") }
        guard !auth.credentials.isEmpty else { throw ConfigurationError(field: "auth.credentials", reason: "needs at least one credential") }
        for (index, credential) in auth.credentials.enumerated() {
            guard !credential.accessKeyId.isEmpty else { throw ConfigurationError(field: "auth.credentials[\(index)].accessKeyId", reason: "must not be empty") }
            guard !credential.secretAccessKey.isEmpty else { throw ConfigurationError(field: "auth.credentials[\(index)].secretAccessKey", reason: "must not be empty") }
            guard seenKeys.insert(credential.accessKeyId).inserted else {
                throw ConfigurationError(field: "auth.credentials[\(index)].accessKeyId", reason: "repeats '\(credential.accessKeyId)'; each credential needs its own access key")
            }
            if let account = credential.accountId, account.utf8.count != 12 || !account.utf8.allSatisfy({ (48...57).contains($0) }) {
                throw ConfigurationError(field: "auth.credentials[\(index)].accountId", reason: "must be 12 digits")
            }
        }
        guard ["error", "warn", "info", "debug", "trace"].contains(logging.level) else {
            throw ConfigurationError(field: "logging.level", reason: "must be one of error, warn, info, debug, trace")
        }
        guard cors.maxAge >= 0 else { throw ConfigurationError(field: "cors.maxAge", reason: "must not be negative") }
        guard ["text", "json"].contains(logging.format) else { throw ConfigurationError(field: "logging.format", reason: "must be text or json") }
        guard limits.maxObjectSize > 0 else { throw ConfigurationError(field: "limits.maxObjectSize", reason: "must be positive") }
        guard limits.maxMetadataSize > 0 else { throw ConfigurationError(field: "limits.maxMetadataSize", reason: "must be positive") }
        guard (1...86_400_000).contains(limits.requestTimeout) else {
            throw ConfigurationError(field: "limits.requestTimeout", reason: "must be 1...86400000 (milliseconds)")
        }
        guard multipart.expirationDays > 0 else { throw ConfigurationError(field: "multipart.expirationDays", reason: "must be positive") }
        guard multipart.cleanupIntervalMinutes > 0 else { throw ConfigurationError(field: "multipart.cleanupIntervalMinutes", reason: "must be positive") }
    }
}

/// A configuration value that cannot be used, naming the field.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "invalid configuration: \(field) \(reason)" }
}
