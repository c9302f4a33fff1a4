/// Environment variables over a configuration: the layer between the JSON file and the
/// command-line flags (`stowage serve` applies file, then environment, then flags). Each
/// variable sets one field; an invalid value is a `ConfigurationError` naming the variable.
///
/// ```swift
/// let configuration = try StowageConfiguration().applyingEnvironment(["STOWAGE_PORT": "9000"])
/// ```
extension StowageConfiguration {
    /// Every variable read, with the field it sets, for `--help` and the README.
    public static let environmentVariables: [(name: String, field: String)] = [
        ("STOWAGE_CONFIG", "the JSON configuration file (like --config)"),
        ("STOWAGE_PORT", "server.port"), ("STOWAGE_ADDRESS", "server.address"), ("STOWAGE_REGION", "server.region"),
        ("STOWAGE_DOMAINS", "server.domains (comma-separated)"), ("STOWAGE_SILENT", "server.silent"),
        ("STOWAGE_ADMIN_RESET", "server.adminReset"), ("STOWAGE_SHUTDOWN_GRACE_PERIOD", "server.shutdownGracePeriod (ms)"),
        ("STOWAGE_TLS_CERTIFICATE_FILE", "server.tls.certificateFile"), ("STOWAGE_TLS_PRIVATE_KEY_FILE", "server.tls.privateKeyFile"),
        ("STOWAGE_TLS_SELF_SIGNED", "server.tls.selfSigned"), ("STOWAGE_METRICS_TOKEN", "server.metrics.bearerToken"),
        ("STOWAGE_METRICS_AUTHENTICATE", "server.metrics.authenticate"),
        ("STOWAGE_DIRECTORY", "storage.directory"), ("STOWAGE_CLEAN_SLATE", "storage.cleanSlate"),
        ("STOWAGE_BACKEND", "storage.backend"), ("STOWAGE_FSYNC", "storage.fsync"),
        ("STOWAGE_AUTH_ENABLED", "auth.enabled"),
        ("STOWAGE_ACCESS_KEY", "auth.credentials: one credential, with STOWAGE_SECRET_KEY"),
        ("STOWAGE_SECRET_KEY", "auth.credentials: one credential, with STOWAGE_ACCESS_KEY"),
        ("STOWAGE_CORS_ENABLED", "cors.enabled"), ("STOWAGE_CORS_ORIGINS", "cors.allowedOrigins (comma-separated)"),
        ("STOWAGE_LOG_LEVEL", "logging.level"), ("STOWAGE_LOG_FORMAT", "logging.format"),
        ("STOWAGE_MAX_OBJECT_SIZE", "limits.maxObjectSize (bytes)"), ("STOWAGE_REQUEST_TIMEOUT", "limits.requestTimeout (ms)"),
        ("STOWAGE_DRIVES", "cluster.drives.paths (comma-separated; turns cluster.enabled on, like --drives)"),
        ("STOWAGE_ERASURE", "cluster.erasure.dataShards+parityShards, as K+M (like --erasure)"),
        // A secret is better kept out of a configuration file.
        ("STOWAGE_CLUSTER_SECRET", "cluster.formationSecret"),
    ]

    /// Warnings for `STOWAGE_` variables that are not read but are a typo away from one that is
    /// (`STOWAGE_PROT` → "did you mean STOWAGE_PORT?"): a misspelt setting would otherwise be
    /// ignored without a word. A typo is one edit (a letter added, dropped, changed, or two
    /// swapped) in a short name, two in a name over five letters after `STOWAGE_`; names further
    /// from every known one (a script's own `STOWAGE_BIN` or `STOWAGE_ROOT`) pass quietly.
    ///
    /// ```swift
    /// for warning in StowageConfiguration.misspeltEnvironmentVariables(ProcessInfo.processInfo.environment) {
    ///     print(warning)
    /// }
    /// ```
    public static func misspeltEnvironmentVariables(_ environment: [String: String]) -> [String] {
        let prefix = "STOWAGE_"
        let known = environmentVariables.map(\.name)
        return environment.keys.sorted().compactMap { name in
            guard name.hasPrefix(prefix), !known.contains(name) else { return nil }
            let suffix = String(name.dropFirst(prefix.count))
            let allowed = suffix.utf8.count > 5 ? 2 : 1
            let nearest = known.map { ($0, editDistance(suffix, String($0.dropFirst(prefix.count)))) }.min { $0.1 < $1.1 }
            guard let nearest, nearest.1 <= allowed else { return nil }
            return "ignoring \(name) (did you mean \(nearest.0)?)"
        }
    }

    /// Edit distance over UTF-8 bytes (variable names are ASCII) that counts swapping two
    /// neighbours as one edit (optimal string alignment).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }

    public func applyingEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> StowageConfiguration {
        var c = self
        func text(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func int(_ name: String) throws(ConfigurationError) -> Int? {
            guard let value = text(name) else { return nil }
            guard let number = Int(value) else { throw ConfigurationError(field: name, reason: "must be a whole number, not '\(value)'") }
            return number
        }
        func bool(_ name: String) throws(ConfigurationError) -> Bool? {
            guard let value = text(name) else { return nil }
            switch value.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw ConfigurationError(field: name, reason: "must be true or false, not '\(value)'")
            }
        }
        func list(_ name: String) -> [String]? {
            text(name).map { $0.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty } }
        }

        if let v = try int("STOWAGE_PORT") { c.server.port = v }
        if let v = text("STOWAGE_ADDRESS") { c.server.address = v }
        if let v = text("STOWAGE_REGION") { c.server.region = v }
        if let v = list("STOWAGE_DOMAINS") { c.server.domains = v }
        if let v = try bool("STOWAGE_SILENT") { c.server.silent = v }
        if let v = try bool("STOWAGE_ADMIN_RESET") { c.server.adminReset = v }
        if let v = try int("STOWAGE_SHUTDOWN_GRACE_PERIOD") { c.server.shutdownGracePeriod = v }
        if let v = text("STOWAGE_TLS_CERTIFICATE_FILE") { c.server.tls.certificateFile = v }
        if let v = text("STOWAGE_TLS_PRIVATE_KEY_FILE") { c.server.tls.privateKeyFile = v }
        if let v = try bool("STOWAGE_TLS_SELF_SIGNED") { c.server.tls.selfSigned = v }
        if let v = text("STOWAGE_METRICS_TOKEN") { c.server.metrics.bearerToken = v }
        if let v = try bool("STOWAGE_METRICS_AUTHENTICATE") { c.server.metrics.authenticate = v }
        if let v = text("STOWAGE_DIRECTORY") { c.storage.directory = v }
        if let v = try bool("STOWAGE_CLEAN_SLATE") { c.storage.cleanSlate = v }
        if let v = text("STOWAGE_BACKEND") { c.storage.backend = v }
        if let v = try bool("STOWAGE_FSYNC") { c.storage.fsync = v }
        if let v = try bool("STOWAGE_AUTH_ENABLED") { c.auth.enabled = v }
        switch (text("STOWAGE_ACCESS_KEY"), text("STOWAGE_SECRET_KEY")) {
        case (let key?, let secret?): c.auth.credentials = [Credential(accessKeyId: key, secretAccessKey: secret)]
        case (nil, nil): break
        case (nil, _): throw ConfigurationError(field: "STOWAGE_ACCESS_KEY", reason: "must be set together with STOWAGE_SECRET_KEY")
        case (_, nil): throw ConfigurationError(field: "STOWAGE_SECRET_KEY", reason: "must be set together with STOWAGE_ACCESS_KEY")
        }
        if let v = try bool("STOWAGE_CORS_ENABLED") { c.cors.enabled = v }
        if let v = list("STOWAGE_CORS_ORIGINS") { c.cors.allowedOrigins = v }
        if let v = text("STOWAGE_LOG_LEVEL") { c.logging.level = v }
        if let v = text("STOWAGE_LOG_FORMAT") { c.logging.format = v }
        if let v = try int("STOWAGE_MAX_OBJECT_SIZE") { c.limits.maxObjectSize = Int64(v) }
        if let v = try int("STOWAGE_REQUEST_TIMEOUT") { c.limits.requestTimeout = v }
        if let v = list("STOWAGE_DRIVES") {
            c.cluster.drives.paths = v
            c.cluster.enabled = true
        }
        if let v = text("STOWAGE_ERASURE") {
            (c.cluster.erasure.dataShards, c.cluster.erasure.parityShards) = try Self.erasureCode(v, field: "STOWAGE_ERASURE")
        }
        if let v = text("STOWAGE_CLUSTER_SECRET") { c.cluster.formationSecret = v }
        return c
    }
}

extension StowageConfiguration {
    /// Parses an erasure code written `K+M` (`4+2`).
    public static func erasureCode(_ text: String, field: String) throws(ConfigurationError) -> (Int, Int) {
        let parts = text.split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let m = Int(parts[1]) else {
            throw ConfigurationError(field: field, reason: "must be written K+M (data+parity shards, like 4+2), not '\(text)'")
        }
        return (k, m)
    }
}
