public import Logging

/// What a plugin factory receives: the whole configuration and a logger.
public struct PluginEnvironment: Sendable {
    public var configuration: StowageConfiguration
    public var logger: Logger

    public init(configuration: StowageConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }
}

/// Maps names used in configuration (`storage.backend`, `pipeline.stages`) to factories, so a
/// backend or stage is chosen by configuration and custom plugins slot in beside the built-in ones.
///
/// ```swift
/// var registry = PluginRegistry.builtIn          // from the Stowage module
/// registry.registerStage("bearer-auth") { _ in BearerAuthStage(token: "secret") }
/// configuration.pipeline.stages = ["xml", "routing", "bearer-auth"]
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

    /// Builds the stages named in `pipeline.stages`, in order.
    public func makeStages(_ environment: PluginEnvironment) throws -> [any S3Stage] {
        try environment.configuration.pipeline.stages.enumerated().map { index, name in
            guard let factory = stages[name] else {
                throw ConfigurationError(field: "pipeline.stages[\(index)]", reason: "names unknown stage '\(name)' (known: \(stages.keys.sorted().joined(separator: ", ")))")
            }
            return try factory(environment)
        }
    }
}
