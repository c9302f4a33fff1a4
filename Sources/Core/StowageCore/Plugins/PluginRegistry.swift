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
    public private(set) var stages: [String: StageFactory] = [:]

    public init() {}

    public mutating func registerBackend(_ name: String, factory: @escaping BackendFactory) {
        backends[name] = factory
    }

    /// Registers a stage factory. A stage that authenticates or authorizes says so in its
    /// ``S3Stage/role``, so `auth.enabled` can insist on both, in that order.
    public mutating func registerStage(_ name: String, factory: @escaping StageFactory) {
        stages[name] = factory
    }

    /// Builds the backend named in `storage.backend`.
    public func makeBackend(_ environment: PluginEnvironment) throws -> any StorageBackend {
        let name = environment.configuration.storage.backend
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
