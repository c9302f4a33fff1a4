public import Logging
import NIOCore
import NIOPosix
public import StowageCore
import Synchronization

/// A Stowage server: the pipeline, the backend and the HTTP listener, assembled from
/// configuration.
///
/// ```swift
/// var configuration = StowageConfiguration()
/// configuration.server.port = 0                    // any free port
/// configuration.storage.directory = "/tmp/stowage"
/// configuration.storage.cleanSlate = true
/// let server = try await Stowage.createAndStart(configuration)
/// try await server.createBucket("photos")
/// print(server.storageDescriptor().endpointURL)    // http://localhost:54321
/// try await server.stop()
/// ```
public final class Stowage: Sendable {
    public let configuration: StowageConfiguration
    public let backend: any StorageBackend
    public let pipeline: S3Pipeline
    private let logger: Logger
    private let server = Mutex<HTTPServer?>(nil)
    private let services = Mutex<[Task<Void, Never>]>([])
    private let metrics = ServerMetrics()
    private let operations: OperationsEndpoints
    /// Extra services started with the server and cancelled when it stops.
    private let extraServices: [any StowageService]

    /// Assembles a server from configuration through `registry` (backend and stages by name).
    public convenience init(_ configuration: StowageConfiguration = StowageConfiguration(), registry: PluginRegistry = .builtIn, logger: Logger? = nil) throws {
        var builder = StowageBuilder(configuration: configuration, registry: registry)
        builder.logger = logger
        let parts = try builder.assemble()
        self.init(configuration: configuration, backend: parts.backend, stages: parts.stages, logger: parts.logger)
    }

    /// Assembles a server by hand: any backend, any stages in any order, extra services.
    public init(configuration: StowageConfiguration, backend: any StorageBackend, stages: [any S3Stage], services: [any StowageService] = [], logger: Logger? = nil) {
        self.extraServices = services
        self.configuration = configuration
        self.backend = backend
        self.pipeline = S3Pipeline(stages: stages, responder: S3Dispatcher(backend: backend, configuration: configuration))
        self.logger = logger ?? {
            var fallback = Logger(label: "stowage")
            fallback.logLevel = configuration.logLevel
            return fallback
        }()
        self.operations = OperationsEndpoints(
            metrics: metrics, backend: backend, domains: configuration.server.domains, adminReset: configuration.server.adminReset
        )
    }

    /// Creates a server and starts it.
    public static func createAndStart(_ configuration: StowageConfiguration = StowageConfiguration(), registry: PluginRegistry = .builtIn, logger: Logger? = nil) async throws -> Stowage {
        let stowage = try Stowage(configuration, registry: registry, logger: logger)
        try await stowage.start()
        return stowage
    }

    /// Starts listening, then opens the backend: clients can connect at once, and requests that
    /// arrive while the backend opens wait for it. Calling it again while running does nothing.
    public func start() async throws {
        if server.withLock({ $0 != nil }) { return }
        let credential = configuration.auth.credentials[0]
        var accessLog = Logger(label: "stowage.access")
        // The stricter of the server's logger and the configuration: `server.silent` quiets
        // access lines even under a caller's chatty logger.
        accessLog.logLevel = max(logger.logLevel, configuration.logLevel)
        let gate = StartupGate()
        let environment = RequestEnvironment(
            pipeline: pipeline, logger: logger, defaultIdentity: configuration.auth.enabled ? .anonymous : credential.identity,
            region: configuration.server.region, requestIDs: RequestIDGenerator(),
            requestTimeout: .milliseconds(Int64(configuration.limits.requestTimeout)),
            inFlight: InFlightRequests(), operations: operations, metrics: metrics, accessLog: accessLog, gate: gate
        )
        let started = try await HTTPServer.start(
            address: configuration.server.address, port: configuration.server.port,
            environment: environment, group: MultiThreadedEventLoopGroup.singleton
        )
        do {
            try await backend.open()
        } catch {
            gate.fail()
            await started.shutdown(gracePeriod: .zero)
            throw error
        }
        let alreadyRunning = server.withLock { current -> Bool in
            if current != nil { return true }
            current = started
            return false
        }
        if alreadyRunning {
            gate.fail()
            await started.shutdown(gracePeriod: .zero)
            return
        }
        gate.open()
        operations.ready.set(true)
        let expiry = MultipartExpiryService(backend: backend, configuration: configuration.multipart, logger: logger)
        let all: [any StowageService] = [expiry] + extraServices
        services.withLock { tasks in
            for service in all { tasks.append(Task { await service.run() }) }
        }
    }

    /// Stops listening at once, lets requests in progress finish for up to
    /// `server.shutdownGracePeriod`, then closes the remaining connections and the backend.
    /// Calling it again does nothing.
    public func stop() async throws {
        guard let running = server.withLock({ current -> HTTPServer? in
            let taken = current
            current = nil
            return taken
        }) else { return }
        operations.ready.set(false)
        let background = services.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in background { task.cancel() }
        for task in background { await task.value }
        // In a task of its own: stopping is often called from a cancelled task (a ServiceGroup
        // tearing down), where the drain's sleeps would return at once and spin.
        let grace = Duration.milliseconds(configuration.server.shutdownGracePeriod)
        await Task { await running.shutdown(gracePeriod: grace) }.value
        try await backend.close()
    }

    /// The port the server listens on (the real one when configured with port 0).
    public var port: Int { server.withLock { $0?.port } ?? configuration.server.port }

    public var isRunning: Bool { server.withLock { $0 != nil } }

    /// Creates a bucket owned by the first configured credential.
    @discardableResult
    public func createBucket(_ name: String) async throws -> BucketInfo {
        if let violation = BucketNames.violation(name) {
            throw S3Error(.invalidBucketName, message: "The specified bucket is not valid. \(violation).")
        }
        let credential = configuration.auth.credentials[0]
        return try await backend.createBucket(name, owner: credential.identity, region: configuration.server.region)
    }

    /// Connection details for S3 clients.
    public func storageDescriptor() -> StorageDescriptor {
        let credential = configuration.auth.credentials[0]
        return StorageDescriptor(endpoint: "localhost", port: port, accessKey: credential.accessKeyId, accessSecret: credential.secretAccessKey, useSsl: false)
    }
}
