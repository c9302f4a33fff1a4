public import Logging
public import ServiceLifecycle
public import StowageCore

/// Assembles a server piece by piece; every default is replaceable: the backend (else the
/// registry's `storage.backend`), the stages in order (else the registry's `pipeline.stages`),
/// extra services, the logger.
///
/// ```swift
/// var builder = StowageBuilder(configuration: configuration)
/// builder.backend = MyBackend()                         // instead of the file store
/// builder.stages = [XMLStage(), RoutingStage(), MyAuthStage(), PolicyStage(...)]
/// builder.services.append(Heartbeat())
/// let server = try builder.build()
/// try await server.start()
/// ```
public struct StowageBuilder: Sendable {
    public var configuration: StowageConfiguration
    public var registry: PluginRegistry
    /// `nil`: built by the registry from `storage.backend`.
    public var backend: (any StorageBackend)?
    /// `nil`: built by the registry from `pipeline.stages` (with the checks `auth.enabled` implies).
    public var stages: [any S3Stage]?
    public var services: [any Service] = []
    public var logger: Logger?

    public init(configuration: StowageConfiguration = StowageConfiguration(), registry: PluginRegistry = .builtIn) {
        self.configuration = configuration
        self.registry = registry
    }

    public func build() throws -> Stowage {
        let parts = try assemble()
        return try Stowage(configuration: configuration, backend: parts.backend, stages: parts.stages, services: services, logger: parts.logger, registry: registry)
    }

    /// The pieces, defaults filled in from the registry.
    func assemble() throws -> (backend: any StorageBackend, stages: [any S3Stage], logger: Logger) {
        try configuration.validate()
        let logger = logger ?? Logger(label: "stowage")
        var environment = try registry.environment(configuration, logger: logger)
        let backend = try backend ?? registry.makeBackend(environment)
        environment.backend = backend
        let stages = try stages ?? registry.makeStages(environment)
        return (backend, stages, logger)
    }
}
