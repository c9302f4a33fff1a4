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
    /// What each stage does for security, by name. With `auth.enabled`, the pipeline must name
    /// an authenticating stage and, after it, an authorizing one.
    public private(set) var roles: [String: StageRole] = [:]

    /// A stage's part in access control.
    public enum StageRole: Sendable {
        /// Establishes who is asking: sets `context.identity` (`sigv4`, a bearer-token stage).
        case authentication
        /// Decides what the identity may do (`policy`).
        case authorization
        case other
    }

    public init() {}

    public mutating func registerBackend(_ name: String, factory: @escaping BackendFactory) {
        backends[name] = factory
    }

    /// Registers a stage factory. Give stages that authenticate (`sigv4`, a bearer-token stage)
    /// or authorize (`policy`) their role, so `auth.enabled` can insist on both, in that order.
    public mutating func registerStage(_ name: String, role: StageRole = .other, factory: @escaping StageFactory) {
        stages[name] = factory
        roles[name] = role
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
    func checkAccessControl(_ names: [String]) throws {
        func known(_ role: StageRole) -> String { roles.filter { $0.value == role }.keys.sorted().joined(separator: ", ") }
        guard let authentication = names.firstIndex(where: { roles[$0] == .authentication }) else {
            throw ConfigurationError(
                field: "auth.enabled",
                reason: "needs an authenticating stage in pipeline.stages (one of: \(known(.authentication))); without one nothing would be verified"
            )
        }
        guard names[authentication...].contains(where: { roles[$0] == .authorization }) else {
            throw ConfigurationError(
                field: "auth.enabled",
                reason: "needs an authorizing stage (one of: \(known(.authorization))) after '\(names[authentication])' in pipeline.stages; without one every identity, anonymous too, could do anything"
            )
        }
    }

    /// Builds the stages named in `pipeline.stages`, in order.
    public func makeStages(_ environment: PluginEnvironment) throws -> [any S3Stage] {
        let configuration = environment.configuration
        if configuration.auth.enabled { try checkAccessControl(configuration.pipeline.stages) }
        return try environment.configuration.pipeline.stages.enumerated().map { index, name in
            guard let factory = stages[name] else {
                throw ConfigurationError(field: "pipeline.stages[\(index)]", reason: "names unknown stage '\(name)' (known: \(stages.keys.sorted().joined(separator: ", ")))")
            }
            return try factory(environment)
        }
    }
}
