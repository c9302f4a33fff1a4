// MARK: Decoding with defaults and strict keys

extension KeyedDecodingContainer {
    fileprivate func value<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }

    /// Integers decode through `Double` first: Foundation reports `1.5` for an `Int` as invalid
    /// JSON without a path, and the error must name the field.
    fileprivate func value(_ key: Key, _ fallback: Int) throws -> Int {
        guard contains(key), try !decodeNil(forKey: key) else { return fallback }
        if let exact = try? decode(Int.self, forKey: key) { return exact }
        if let number = try? decode(Double.self, forKey: key) {
            throw ConfigurationError(field: fieldPath(key), reason: "must be a whole number, not \(number)")
        }
        return try decode(Int.self, forKey: key)
    }

    fileprivate func value(_ key: Key, _ fallback: Int64) throws -> Int64 {
        guard contains(key), try !decodeNil(forKey: key) else { return fallback }
        if let exact = try? decode(Int64.self, forKey: key) { return exact }
        if let number = try? decode(Double.self, forKey: key) {
            throw ConfigurationError(field: fieldPath(key), reason: "must be a whole number, not \(number)")
        }
        return try decode(Int64.self, forKey: key)
    }

    private func fieldPath(_ key: Key) -> String {
        (codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
    }
}

private func rejectUnknownKeys<K: CodingKey & CaseIterable>(_ decoder: any Decoder, known: K.Type) throws {
    try StrictKeys.reject(decoder, unknownTo: known)
}

extension StowageConfiguration {
    enum CodingKeys: String, CodingKey, CaseIterable { case server, storage, auth, cors, logging, limits, multipart, pipeline, cluster, plugins }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = StowageConfiguration.init()
        server = try c.value(.server, defaults.server)
        storage = try c.value(.storage, defaults.storage)
        auth = try c.value(.auth, defaults.auth)
        cors = try c.value(.cors, defaults.cors)
        logging = try c.value(.logging, defaults.logging)
        limits = try c.value(.limits, defaults.limits)
        multipart = try c.value(.multipart, defaults.multipart)
        pipeline = try c.value(.pipeline, defaults.pipeline)
        cluster = try c.value(.cluster, defaults.cluster)
        plugins = try c.value(.plugins, defaults.plugins)
    }
}

extension StowageConfiguration.Server {
    enum CodingKeys: String, CodingKey, CaseIterable { case port, address, silent, region, domains, adminReset, shutdownGracePeriod, tls, metrics, endpoints }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        port = try c.value(.port, d.port)
        address = try c.value(.address, d.address)
        silent = try c.value(.silent, d.silent)
        region = try c.value(.region, d.region)
        domains = try c.value(.domains, d.domains)
        adminReset = try c.value(.adminReset, d.adminReset)
        shutdownGracePeriod = try c.value(.shutdownGracePeriod, d.shutdownGracePeriod)
        tls = try c.value(.tls, d.tls)
        metrics = try c.value(.metrics, d.metrics)
        endpoints = try c.value(.endpoints, d.endpoints)
    }
}

extension StowageConfiguration.MetricsAccess {
    enum CodingKeys: String, CodingKey, CaseIterable { case bearerToken, authenticate }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bearerToken = try c.decodeIfPresent(String.self, forKey: .bearerToken)
        authenticate = try c.value(.authenticate, true)
    }
}

extension StowageConfiguration.TLS {
    enum CodingKeys: String, CodingKey, CaseIterable { case certificateFile, privateKeyFile, selfSigned }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        certificateFile = try c.decodeIfPresent(String.self, forKey: .certificateFile)
        privateKeyFile = try c.decodeIfPresent(String.self, forKey: .privateKeyFile)
        selfSigned = try c.value(.selfSigned, false)
    }
}

extension StowageConfiguration.Storage {
    enum CodingKeys: String, CodingKey, CaseIterable { case directory, cleanSlate, backend, fsync }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        directory = try c.value(.directory, d.directory)
        cleanSlate = try c.value(.cleanSlate, d.cleanSlate)
        backend = try c.value(.backend, d.backend)
        fsync = try c.value(.fsync, d.fsync)
    }
}

extension StowageConfiguration.Credential {
    enum CodingKeys: String, CodingKey, CaseIterable { case accessKeyId, secretAccessKey, name, accountId }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accessKeyId = try c.decode(String.self, forKey: .accessKeyId)
        secretAccessKey = try c.decode(String.self, forKey: .secretAccessKey)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        accountId = try c.decodeIfPresent(String.self, forKey: .accountId)
    }
}

extension StowageConfiguration.Auth {
    enum CodingKeys: String, CodingKey, CaseIterable { case enabled, credentials }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        enabled = try c.value(.enabled, d.enabled)
        credentials = try c.value(.credentials, d.credentials)
    }
}

extension StowageConfiguration.CORS {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, allowedOrigins, allowedMethods, allowedHeaders, exposedHeaders, maxAge, allowCredentials
    }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        enabled = try c.value(.enabled, d.enabled)
        allowedOrigins = try c.value(.allowedOrigins, d.allowedOrigins)
        allowedMethods = try c.value(.allowedMethods, d.allowedMethods)
        allowedHeaders = try c.value(.allowedHeaders, d.allowedHeaders)
        exposedHeaders = try c.value(.exposedHeaders, d.exposedHeaders)
        maxAge = try c.value(.maxAge, d.maxAge)
        allowCredentials = try c.value(.allowCredentials, d.allowCredentials)
    }
}

extension StowageConfiguration.Logging {
    enum CodingKeys: String, CodingKey, CaseIterable { case level, format, enabled }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        level = try c.value(.level, d.level)
        format = try c.value(.format, d.format)
        enabled = try c.value(.enabled, d.enabled)
    }
}

extension StowageConfiguration.Limits {
    enum CodingKeys: String, CodingKey, CaseIterable { case maxObjectSize, maxMetadataSize, requestTimeout }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        maxObjectSize = try c.value(.maxObjectSize, d.maxObjectSize)
        maxMetadataSize = try c.value(.maxMetadataSize, d.maxMetadataSize)
        requestTimeout = try c.value(.requestTimeout, d.requestTimeout)
    }
}

extension StowageConfiguration.Multipart {
    enum CodingKeys: String, CodingKey, CaseIterable { case expirationDays, cleanupIntervalMinutes }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        expirationDays = try c.value(.expirationDays, d.expirationDays)
        cleanupIntervalMinutes = try c.value(.cleanupIntervalMinutes, d.cleanupIntervalMinutes)
    }
}

extension StowageConfiguration.Pipeline {
    enum CodingKeys: String, CodingKey, CaseIterable { case stages }
    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stages = try c.value(.stages, Self.init().stages)
    }
}
