public import Logging
import Foundation
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
    private enum Phase {
        case stopped
        /// Later `start()` calls wait for this one; `stop()` waits for it, then stops.
        case starting(Task<Void, any Error>)
        case running(HTTPServer)
    }
    private let phase = Mutex(Phase.stopped)
    /// Background services started by `start()` (not when a ServiceGroup runs them).
    private let backgroundTasks = Mutex<[Task<Void, Never>]>([])
    /// Opens when the first start succeeds; fails if it does not.
    private let firstStart = StartupGate()
    private let metrics = ServerMetrics()
    private let operations: OperationsEndpoints
    /// Extra services started with the server and cancelled when it stops.
    let extraServices: [any StowageService]

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

    /// Starts, in the background, the start-up work that needs no configuration: the shared
    /// event loop threads and OpenSSL's first-use initialisation. A program that will start a
    /// server calls it first thing, and `start()` later finds both ready instead of waiting for
    /// them (the `stowage` executable does, before it parses its arguments). Calling it more
    /// than once does no harm.
    ///
    /// ```swift
    /// Stowage.prepare()
    /// let configuration = try loadMyConfiguration()   // meanwhile, threads start
    /// let server = try await Stowage.createAndStart(configuration)
    /// ```
    public static func prepare() {
        // Threads of their own: on the dispatch pool they would hold the workers that Swift
        // concurrency's executor needs for the caller's next `await`.
        Thread.detachNewThread { _ = MultiThreadedEventLoopGroup.singleton }
        // OpenSSL's EVP tables, which the first MD5 (every PUT) or HMAC (every signed request)
        // would otherwise build.
        OpenSSLRuntime.warmUpInBackground()
        // Starts a worker of Swift concurrency's pool now rather than at the first hop to it.
        Task.detached(priority: .high) {}
    }

    /// Starts listening, then opens the backend: clients can connect at once, and requests that
    /// arrive while the backend opens wait for it. (Opening it alongside the bind measured no
    /// faster on two cores: both are CPU work.) Then starts multipart expiry and the extra
    /// services. Calling it while running does nothing; calling it while another start is in
    /// progress waits for that one.
    public func start() async throws {
        try await start(runningBackground: true)
    }

    func start(runningBackground: Bool) async throws {
        let inProgress = phase.withLock { phase -> Task<Void, any Error>? in
            switch phase {
            case .running: return nil
            case .starting(let task): return task
            case .stopped:
                let task = Task { try await self.bringUp(runningBackground: runningBackground) }
                phase = .starting(task)
                return task
            }
        }
        try await inProgress?.value
    }

    private func bringUp(runningBackground: Bool) async throws {
        let started: HTTPServer
        do {
            started = try await listenAndOpen()
        } catch {
            phase.withLock { $0 = .stopped }
            firstStart.fail()
            throw error
        }
        phase.withLock { $0 = .running(started) }
        operations.ready.set(true)
        firstStart.open()
        guard runningBackground else { return }
        backgroundTasks.withLock { tasks in
            for service in backgroundServices { tasks.append(Task { await service.run() }) }
        }
    }

    private func listenAndOpen() async throws -> HTTPServer {
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
            // A moment for requests that were waiting on the gate to get their 503 out before
            // their connections close; idle connections close at once.
            await started.shutdown(gracePeriod: .seconds(1))
            throw error
        }
        gate.open()
        return started
    }

    /// Multipart expiry, then the extra services: they run while the server runs.
    var backgroundServices: [any StowageService] {
        [MultipartExpiryService(backend: backend, configuration: configuration.multipart, logger: logger)] + extraServices
    }

    /// `true` once the server listens with its backend open; `false` if its first start failed
    /// or the waiting task is cancelled. For code that runs the server through ``services`` in
    /// a `ServiceGroup` and needs to know when it is up (to print a ready line, say).
    public func waitUntilRunning() async -> Bool {
        await firstStart.wait()
    }

    /// Stops listening at once, lets requests in progress finish for up to
    /// `server.shutdownGracePeriod`, then closes the remaining connections and the backend.
    /// A start in progress finishes first. Calling it again does nothing.
    public func stop() async throws {
        var running: HTTPServer?
        while running == nil {
            enum Step { case done, waitFor(Task<Void, any Error>), stop(HTTPServer) }
            let step = phase.withLock { phase -> Step in
                switch phase {
                case .stopped: return .done
                case .starting(let task): return .waitFor(task)
                case .running(let server):
                    phase = .stopped
                    return .stop(server)
                }
            }
            switch step {
            case .done: return
            case .waitFor(let task): _ = try? await task.value
            case .stop(let server): running = server
            }
        }
        guard let running else { return }
        operations.ready.set(false)
        let background = backgroundTasks.withLock { tasks in
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

    private var runningServer: HTTPServer? {
        phase.withLock { phase in
            if case .running(let server) = phase { return server }
            return nil
        }
    }

    /// The port the server listens on (the real one when configured with port 0).
    public var port: Int { runningServer?.port ?? configuration.server.port }

    public var isRunning: Bool { runningServer != nil }

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
