public import Logging

/// What a plugin factory receives: the whole configuration, a logger and, for stages, the
/// backend (stages such as the policy stage read bucket configuration through it).
public struct PluginEnvironment: Sendable {
    public var configuration: StowageConfiguration
    public var logger: Logger
    /// The server's backend; `nil` while the backend itself is being built.
    public var backend: (any StorageBackend)?

    public init(configuration: StowageConfiguration, logger: Logger, backend: (any StorageBackend)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.backend = backend
    }

    /// What the host offers plugins (readiness, metrics); `nil` outside a running host.
    public var host: HostServices?
    /// The transports registered by name, so a backend can make the one its configuration names.
    public var transports: [String: PluginRegistry.TransportFactory] = [:]

    /// The plugin-owned configuration section `name` (`plugins.<name>`) decoded strictly as `T`;
    /// `nil` when the configuration has none. Errors name the field (`plugins.bearer.tokens`).
    ///
    /// ```swift
    /// let section = try environment.section("bearer", as: BearerSection.self)
    /// ```
    public func section<T: Decodable>(_ name: String, as type: T.Type) throws -> T? {
        try configuration.plugins[name].map { try $0.decode(as: T.self, path: "plugins.\(name)") }
    }

    /// Makes the cluster transport registered as `name` for node `local`, delivering requests
    /// that arrive to `handler`.
    public func makeTransport(_ name: String, local: NodeID, handler: any ClusterRequestHandler) throws -> any ClusterTransport {
        guard let factory = transports[name] else {
            throw ConfigurationError(field: "transport", reason: "names unknown transport '\(name)' (known: \(transports.keys.sorted().joined(separator: ", ")))")
        }
        return try factory(TransportEnvironment(plugin: self, local: local, handler: handler))
    }

    /// The backend, for stage factories that cannot work without one.
    public func requireBackend(for stage: String) throws -> any StorageBackend {
        guard let backend else {
            throw ConfigurationError(field: "pipeline.stages", reason: "stage '\(stage)' needs a backend, and none was built")
        }
        return backend
    }
}

/// Maps names used in configuration (`storage.backend`, `pipeline.stages`) to factories, so a
/// backend or stage is chosen by configuration and custom plugins slot in beside the built-in ones.
///
/// ```swift
/// var registry = PluginRegistry.builtIn          // from the Stowage module
/// registry.registerStage("bearer-auth") { _ in BearerAuthStage(token: "secret") }   // role: .authentication
/// configuration.pipeline.stages = ["xml", "routing", "cors", "bearer-auth", "policy"]
/// ```
public struct PluginRegistry: Sendable {
    public typealias BackendFactory = @Sendable (PluginEnvironment) throws -> any StorageBackend
    public typealias StageFactory = @Sendable (PluginEnvironment) throws -> any S3Stage

    public private(set) var backends: [String: BackendFactory] = [:]
    public typealias TransportFactory = @Sendable (TransportEnvironment) throws -> any ClusterTransport
    public typealias EndpointFactory = @Sendable (PluginEnvironment) throws -> any HostEndpoint

    public private(set) var stages: [String: StageFactory] = [:]
    public private(set) var transports: [String: TransportFactory] = [:]
    public private(set) var endpoints: [String: EndpointFactory] = [:]
    /// Names of the plugin-owned configuration sections (`plugins.<name>`).
    public private(set) var sections: Set<String> = []

    public init() {}

    public mutating func registerBackend(_ name: String, factory: @escaping BackendFactory) {
        backends[name] = factory
    }

    /// Registers a stage factory. A stage that authenticates or authorizes says so in its
    /// ``S3Stage/role``, so `auth.enabled` can insist on both, in that order.
    public mutating func registerStage(_ name: String, factory: @escaping StageFactory) {
        stages[name] = factory
    }

    /// Registers a cluster transport (`inprocess`, `quic`, your own) by name; a cluster backend
    /// makes the one its configuration names through ``PluginEnvironment/makeTransport(_:local:handler:)``.
    public mutating func registerTransport(_ name: String, factory: @escaping TransportFactory) {
        transports[name] = factory
    }

    /// Registers an endpoint the host serves under `/_stowage/<name>` (and below it), outside the
    /// S3 pipeline; `server.endpoints` selects which are served.
    public mutating func registerEndpoint(_ name: String, factory: @escaping EndpointFactory) {
        endpoints[name] = factory
    }

    /// Claims the configuration section `plugins.<name>` for a plugin, which decodes it with
    /// ``PluginEnvironment/section(_:as:)``. A section nobody claimed is a configuration error,
    /// so a typo in a section's name is never silently ignored.
    public mutating func registerConfigurationSection(_ name: String) {
        sections.insert(name)
    }

    /// The environment factories receive: this registry's transports included.
    public func environment(_ configuration: StowageConfiguration, logger: Logger, host: HostServices? = nil) throws -> PluginEnvironment {
        for name in configuration.plugins.keys.sorted() where !sections.contains(name) {
            let known = sections.isEmpty ? "no plugin registered one" : "known: \(sections.sorted().joined(separator: ", "))"
            throw ConfigurationError(field: "plugins.\(name)", reason: "is not a section any registered plugin owns (\(known))")
        }
        var environment = PluginEnvironment(configuration: configuration, logger: logger)
        environment.host = host
        environment.transports = transports
        return environment
    }

    /// Builds the endpoints named in `server.endpoints`.
    public func makeEndpoints(_ environment: PluginEnvironment) throws -> [String: any HostEndpoint] {
        var built: [String: any HostEndpoint] = [:]
        for (index, name) in environment.configuration.server.endpoints.enumerated() {
            guard let factory = endpoints[name] else {
                throw ConfigurationError(field: "server.endpoints[\(index)]", reason: "names unknown endpoint '\(name)' (known: \(endpoints.keys.sorted().joined(separator: ", ")))")
            }
            built[name] = try factory(environment)
        }
        return built
    }

    /// Builds the backend named in `storage.backend`, or `cluster` when `cluster.enabled`.
    public func makeBackend(_ environment: PluginEnvironment) throws -> any StorageBackend {
        let name = environment.configuration.cluster.enabled ? "cluster" : environment.configuration.storage.backend
        guard let factory = backends[name] else {
            throw ConfigurationError(field: "storage.backend", reason: "names unknown backend '\(name)' (known: \(backends.keys.sorted().joined(separator: ", ")))")
        }
        return try factory(environment)
    }

    /// With authentication on, a request must meet an authenticating stage and then an
    /// authorizing one; any other pipeline would let someone in unchecked.
    func checkAccessControl(_ names: [String], _ built: [any S3Stage]) throws {
        guard let authentication = built.firstIndex(where: { $0.role == .authentication }) else {
            throw ConfigurationError(
                field: "auth.enabled",
                reason: "needs an authenticating stage in pipeline.stages (such as sigv4); without one nothing would be verified"
            )
        }
        guard built[authentication...].contains(where: { $0.role == .authorization }) else {
            throw ConfigurationError(
                field: "auth.enabled",
                reason: "needs an authorizing stage (such as policy) after '\(names[authentication])' in pipeline.stages; without one every identity, anonymous too, could do anything"
            )
        }
    }

    /// Builds the stages named in `pipeline.stages`, in order.
    public func makeStages(_ environment: PluginEnvironment) throws -> [any S3Stage] {
        let names = environment.configuration.pipeline.stages
        let built = try names.enumerated().map { index, name in
            guard let factory = stages[name] else {
                throw ConfigurationError(field: "pipeline.stages[\(index)]", reason: "names unknown stage '\(name)' (known: \(stages.keys.sorted().joined(separator: ", ")))")
            }
            return try factory(environment)
        }
        if environment.configuration.auth.enabled { try checkAccessControl(names, built) }
        return built
    }
}
