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
/// registry.registerStage("bearer-auth") { _ in BearerAuthStage(token: "secret") }
/// configuration.pipeline.stages = ["xml", "routing", "cors", "bearer-auth", "policy"]
/// ```
public struct PluginRegistry: Sendable {
    public typealias BackendFactory = @Sendable (PluginEnvironment) throws -> any StorageBackend
    public typealias StageFactory = @Sendable (PluginEnvironment) throws -> any S3Stage

    public private(set) var backends: [String: BackendFactory] = [:]
    public private(set) var stages: [String: StageFactory] = [:]
    /// Stages that establish who is asking. With `auth.enabled`, the pipeline must name one.
    public private(set) var authenticatingStages: Set<String> = []

    public init() {}

    public mutating func registerBackend(_ name: String, factory: @escaping BackendFactory) {
        backends[name] = factory
    }

    /// Registers a stage factory. Mark stages that authenticate requests (`sigv4`, a bearer-token
    /// stage) with `authenticates: true`, so `auth.enabled` can insist one is in the pipeline.
    public mutating func registerStage(_ name: String, authenticates: Bool = false, factory: @escaping StageFactory) {
        stages[name] = factory
        if authenticates { authenticatingStages.insert(name) } else { authenticatingStages.remove(name) }
    }

    /// Builds the backend named in `storage.backend`.
    public func makeBackend(_ environment: PluginEnvironment) throws -> any StorageBackend {
        let name = environment.configuration.storage.backend
        guard let factory = backends[name] else {
            throw ConfigurationError(field: "storage.backend", reason: "names unknown backend '\(name)' (known: \(backends.keys.sorted().joined(separator: ", ")))")
        }
        return try factory(environment)
    }

    /// Builds the stages named in `pipeline.stages`, in order.
    public func makeStages(_ environment: PluginEnvironment) throws -> [any S3Stage] {
        let configuration = environment.configuration
        if configuration.auth.enabled, !configuration.pipeline.stages.contains(where: authenticatingStages.contains) {
            throw ConfigurationError(
                field: "auth.enabled",
                reason: "needs an authenticating stage in pipeline.stages (one of: \(authenticatingStages.sorted().joined(separator: ", "))); without one nothing would be verified"
            )
        }
        return try environment.configuration.pipeline.stages.enumerated().map { index, name in
            guard let factory = stages[name] else {
                throw ConfigurationError(field: "pipeline.stages[\(index)]", reason: "names unknown stage '\(name)' (known: \(stages.keys.sorted().joined(separator: ", ")))")
            }
            return try factory(environment)
        }
    }
}
