public import Logging
import Foundation
import NIOCore
import NIOPosix
public import ServiceLifecycle
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
        /// Later `start()` calls join this one; `stop()` waits for it, then stops.
        case starting(Task<Void, any Error>)
        case running(HTTPServer, background: [Task<Void, Never>])
        /// `start()` waits for this before starting again; `stop()` joins it.
        case stopping(Task<Void, any Error>, HTTPServer)
    }
    private struct Lifecycle {
        var phase = Phase.stopped
        /// Settles when the start in progress, or the next one, succeeds or fails; replaced
        /// after each, so a restarted server signals again.
        var nextStart = StartupGate()
    }
    private let lifecycle = Mutex(Lifecycle())
    /// Background services that a ServiceGroup runs (``services``), so `stop()` can wait for
    /// them before closing the backend even when the group cancels every member at once.
    let groupBackground = InFlightRequests()
    /// The port of the last successful start, reported after a stop.
    private let lastPort = Atomic<Int>(0)
    /// The gate requests wait on while the backend opens (tests look at what it holds).
    let requestGate = Mutex<StartupGate?>(nil)
    private let metrics: ServerMetrics
    private let ready: ReadyFlag
    private let operations: OperationsEndpoints
    /// Extra services started with the server and cancelled when it stops.
    let extraServices: [any Service]
    /// The HTTPS identity, made at the first start and kept, so a self-signed certificate stays
    /// the same across restarts of this server.
    private let tls = Mutex<TLSIdentity?>(nil)

    /// Assembles a server from configuration through `registry` (backend and stages by name).
    public convenience init(_ configuration: StowageConfiguration = StowageConfiguration(), registry: PluginRegistry = .builtIn, logger: Logger? = nil) throws {
        var builder = StowageBuilder(configuration: configuration, registry: registry)
        builder.logger = logger
        let parts = try builder.assemble()
        try self.init(configuration: configuration, backend: parts.backend, stages: parts.stages, logger: parts.logger, registry: registry)
    }

    /// Assembles a server by hand: any backend, any stages in any order, extra services. The
    /// `/_stowage/` endpoints named in `server.endpoints` come from `registry`.
    public init(configuration: StowageConfiguration, backend: any StorageBackend, stages: [any S3Stage], services: [any Service] = [],
                logger: Logger? = nil, registry: PluginRegistry = .builtIn) throws {
        let metrics = ServerMetrics()
        let ready = ReadyFlag()
        var environment = try registry.environment(
            configuration, logger: logger ?? Logger(label: "stowage"),
            host: HostServices(isReady: { ready.isReady }, renderMetrics: { await metrics.render(backend: backend) })
        )
        environment.backend = backend
        self.operations = OperationsEndpoints(endpoints: try registry.makeEndpoints(environment), domains: configuration.server.domains)
        self.metrics = metrics
        self.ready = ready
        self.extraServices = services
        self.configuration = configuration
        self.backend = backend
        self.pipeline = S3Pipeline(stages: stages, responder: S3Dispatcher(backend: backend, configuration: configuration))
        self.logger = logger ?? {
            var fallback = Logger(label: "stowage")
            fallback.logLevel = configuration.logLevel
            return fallback
        }()
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
        while true {
            enum Step { case done, join(Task<Void, any Error>), waitForStop(Task<Void, any Error>) }
            let step = lifecycle.withLock { state -> Step in
                switch state.phase {
                case .running: return .done
                case .starting(let task): return .join(task)
                case .stopping(let task, _): return .waitForStop(task)
                case .stopped:
                    let task = Task { try await self.bringUp(runningBackground: runningBackground) }
                    state.phase = .starting(task)
                    return .join(task)
                }
            }
            switch step {
            case .done: return
            case .join(let task):
                // A caller that gives up cancels the start in progress (its backend's open sees
                // the cancellation) instead of leaving it to finish unobserved.
                return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
            case .waitForStop(let task): _ = try? await task.value
            }
        }
    }

    private func bringUp(runningBackground: Bool) async throws {
        let started: HTTPServer
        do {
            started = try await listenAndOpen()
        } catch {
            let attempt = lifecycle.withLock { state -> StartupGate in
                state.phase = .stopped
                defer { state.nextStart = StartupGate() }
                return state.nextStart
            }
            attempt.fail()
            throw error
        }
        lastPort.store(started.port, ordering: .relaxed)
        ready.set(true)
        // The background tasks are published with the running state, in one step: a `stop()`
        // that comes the moment the server runs finds and cancels them.
        let attempt = lifecycle.withLock { state -> StartupGate in
            let background = runningBackground ? backgroundServices.map { service in Task { await self.runBackground(service) } } : []
            state.phase = .running(started, background: background)
            defer { state.nextStart = StartupGate() }
            return state.nextStart
        }
        attempt.open()
    }

    private func listenAndOpen() async throws -> HTTPServer {
        let credential = configuration.auth.credentials[0]
        var accessLog = Logger(label: "stowage.access")
        // The stricter of the server's logger and the configuration: `server.silent` quiets
        // access lines even under a caller's chatty logger.
        accessLog.logLevel = max(logger.logLevel, configuration.logLevel)
        let gate = StartupGate()
        requestGate.withLock { $0 = gate }
        let environment = RequestEnvironment(
            pipeline: pipeline, logger: logger, defaultIdentity: configuration.auth.enabled ? .anonymous : credential.identity,
            region: configuration.server.region, requestIDs: RequestIDGenerator(),
            requestTimeout: .milliseconds(Int64(configuration.limits.requestTimeout)),
            inFlight: InFlightRequests(), operations: operations, metrics: metrics, accessLog: accessLog, gate: gate,
            secure: configuration.server.tls.isEnabled
        )
        let started = try await HTTPServer.start(
            address: configuration.server.address, port: configuration.server.port,
            environment: environment, tls: try tlsIdentity()?.context, group: MultiThreadedEventLoopGroup.singleton
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

    /// Multipart expiry, the backend's own services (healer, heartbeats, scanners), then the
    /// extra services: they run while the server runs.
    var backgroundServices: [any Service] {
        [MultipartExpiryService(backend: backend, configuration: configuration.multipart, logger: logger)] + backend.services + extraServices
    }

    /// `true` once the server listens with its backend open (at once if it does now); `false`
    /// if the start in progress, or the next one, fails, or the waiting task is cancelled. For
    /// code that runs the server through ``services`` in a `ServiceGroup` and needs to know
    /// when it is up (to print a ready line, say).
    public func waitUntilRunning() async -> Bool {
        let attempt = lifecycle.withLock { state -> StartupGate? in
            if case .running = state.phase { return nil }
            return state.nextStart
        }
        guard let attempt else { return true }
        return await attempt.wait()
    }

    /// Stops listening at once, lets requests in progress finish for up to
    /// `server.shutdownGracePeriod`, then closes the remaining connections and the backend.
    /// A start in progress finishes first; a stop in progress is joined. Calling it when
    /// stopped does nothing.
    public func stop() async throws {
        while true {
            enum Step { case done, waitForStart(Task<Void, any Error>), join(Task<Void, any Error>) }
            let step = lifecycle.withLock { state -> Step in
                switch state.phase {
                case .stopped: return .done
                case .starting(let task): return .waitForStart(task)
                case .stopping(let task, _): return .join(task)
                case .running(let server, let background):
                    // In a task of its own: stopping is often called from a cancelled task (a
                    // ServiceGroup tearing down), where the drain's sleeps would return at once
                    // and spin; and concurrent calls join it.
                    let task = Task { try await self.bringDown(server, background: background) }
                    state.phase = .stopping(task, server)
                    return .join(task)
                }
            }
            switch step {
            case .done: return
            case .waitForStart(let task): _ = try? await task.value
            case .join(let task): return try await task.value
            }
        }
    }

    private func bringDown(_ running: HTTPServer, background: [Task<Void, Never>]) async throws {
        defer { lifecycle.withLock { $0.phase = .stopped } }
        ready.set(false)
        await running.stopAccepting()
        for task in background { task.cancel() }
        for task in background { await task.value }
        let grace = Duration.milliseconds(configuration.server.shutdownGracePeriod)
        let clock = ContinuousClock()
        let began = clock.now
        await running.shutdown(gracePeriod: grace)
        let drained = clock.now
        // Background members of a group were cancelled by it (or told to stop first, on a
        // graceful shutdown); none may still be using the backend when it closes.
        await groupBackground.drain(timeout: .seconds(10))
        let quiet = clock.now
        try await backend.close()
        // Where a slow stop spent its time (requests, background work, the backend's close).
        logger.info("stopped", metadata: [
            "requests_ms": "\(Self.milliseconds(drained - began))", "background_ms": "\(Self.milliseconds(quiet - drained))",
            "backend_close_ms": "\(Self.milliseconds(clock.now - quiet))",
        ])
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The start of a graceful shutdown, before the group's other members stop: not ready any
    /// more, and no new connections (the port is free at once).
    func beginShutdown() async {
        let server = lifecycle.withLock { state -> HTTPServer? in
            if case .running(let server, _) = state.phase { return server }
            return nil
        }
        ready.set(false)
        await server?.stopAccepting()
    }

    /// Runs a background service to its end. A service that fails is logged and not restarted:
    /// the server keeps serving S3 (a healer's failure must not take the data path down).
    func runBackground(_ service: any Service) async {
        do {
            try await service.run()
        } catch is CancellationError {
        } catch {
            logger.error("background service failed", metadata: ["service": "\(type(of: service))", "error": "\(error)"])
        }
    }

    /// Runs `body` as a background member's work if the server is running (counted, so `stop()`
    /// waits for it before closing the backend); `false` if it is not running.
    func runAsBackground(_ body: @Sendable () async -> Void) async -> Bool {
        let admitted = lifecycle.withLock { state -> Bool in
            guard case .running = state.phase else { return false }
            groupBackground.enter()
            return true
        }
        guard admitted else { return false }
        defer { groupBackground.leave() }
        await body()
        return true
    }

    private var currentServer: HTTPServer? {
        lifecycle.withLock { state in
            switch state.phase {
            case .running(let server, _), .stopping(_, let server): return server
            case .stopped, .starting: return nil
            }
        }
    }

    /// The port the server listens on (the real one when configured with port 0); after a
    /// stop, the one it listened on.
    public var port: Int {
        if let server = currentServer { return server.port }
        let last = lastPort.load(ordering: .relaxed)
        return last != 0 ? last : configuration.server.port
    }

    public var isRunning: Bool {
        lifecycle.withLock { state in
            if case .running = state.phase { return true }
            return false
        }
    }

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
        return StorageDescriptor(endpoint: "localhost", port: port, accessKey: credential.accessKeyId, accessSecret: credential.secretAccessKey,
                                 useSsl: configuration.server.tls.isEnabled)
    }

    /// `https` when `server.tls` is set, else `http`.
    public var scheme: String { configuration.server.tls.isEnabled ? "https" : "http" }

    /// The SHA-256 fingerprint of the HTTPS certificate (colon-separated hex), once started with
    /// TLS; clients of a self-signed certificate pin it.
    public var tlsCertificateFingerprint: String? { tls.withLock { $0?.fingerprint } }

    /// The TLS identity, loaded (or made) at the first start with TLS on.
    private func tlsIdentity() throws -> TLSIdentity? {
        guard configuration.server.tls.isEnabled else { return nil }
        if let loaded = tls.withLock({ $0 }) { return loaded }
        let identity = try TLSIdentity.load(configuration.server.tls)
        tls.withLock { $0 = identity }
        return identity
    }
}
