public import ServiceLifecycle

/// A Stowage server is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` beside
/// your other services, and the group's graceful shutdown (SIGTERM, say) drains its requests.
/// Its multipart expiry and extra services run inside it. To give each of those pieces its own
/// place in the group instead, as `stowage serve` does, use ``services``.
///
/// ```swift
/// let server = try Stowage(configuration)
/// let group = ServiceGroup(services: [server, myWorker], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
extension Stowage: Service {
    /// Starts the server, waits for graceful shutdown (or cancellation), then stops it: the port
    /// is released at once and requests in progress get `server.shutdownGracePeriod` to finish.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        try await stop()
    }

    /// The server's long-running pieces as separate members for one `ServiceGroup`: the HTTP
    /// server (listener, connections, backend), then multipart expiry and the extra services,
    /// then a last member that marks the start of a graceful shutdown. A group shuts its members
    /// down in reverse order: at once the server stops being ready and accepting (the port is
    /// free), then background work stops, then the server drains its requests and closes the
    /// backend. Background members start once the server runs, and one whose work ends early
    /// stays until shutdown instead of ending the group.
    ///
    /// ```swift
    /// let group = ServiceGroup(services: server.services + [myWorker], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// try await group.run()
    /// ```
    /// Use these or the server itself as a member, not both.
    public var services: [any Service] {
        serviceConfigurations.map(\.service)
    }

    /// ``services`` as named group members. `ServiceGroup(services:)` names each member by
    /// printing it, which walks the runtime's conformance tables: about a millisecond of start-up
    /// in a static binary. These carry their names.
    ///
    /// ```swift
    /// let group = ServiceGroup(configuration: .init(services: server.serviceConfigurations, logger: logger))
    /// ```
    public var serviceConfigurations: [ServiceGroupConfiguration.ServiceConfiguration] {
        var members = [ServiceGroupConfiguration.ServiceConfiguration(service: HTTPServerService(stowage: self), serviceName: HTTPServerService.name)]
        for service in backgroundServices {
            let member = BackgroundService(stowage: self, wrapped: service)
            members.append(.init(service: member, serviceName: member.description))
        }
        members.append(.init(service: ShutdownNoticeService(stowage: self), serviceName: ShutdownNoticeService.name))
        return members
    }
}

/// The listener and the backend, without the background services (the group runs those).
struct HTTPServerService: Service, CustomStringConvertible {
    static let name = "StowageHTTPServer"
    let stowage: Stowage
    var description: String { Self.name }

    func run() async throws {
        do {
            // A start can wait a long time (a cluster node waits for its pool to form): a
            // shutdown meanwhile cancels it rather than waiting for it.
            try await cancelWhenGracefulShutdown { try await stowage.start(runningBackground: false) }
        } catch is CancellationError {
            try await stowage.stop()
            return
        }
        try? await gracefulShutdown()
        try await stowage.stop()
    }
}

/// A background service as a group member: it waits for the server, runs until graceful
/// shutdown (which cancels it), is counted so the backend closes only after it ends, and
/// never ends the group by returning early or failing (failures are logged).
struct BackgroundService: Service, CustomStringConvertible {
    let stowage: Stowage
    let wrapped: any Service
    /// The wrapped type's name, read from its metadata (no dynamic casts, unlike printing it).
    var description: String { _typeName(type(of: wrapped), qualified: false) }

    func run() async throws {
        let stowage = self.stowage, wrapped = self.wrapped
        // If the server fails to start, its member's error ends the group: wait for that rather
        // than return first and have the group report this member instead.
        if await cancelWhenGracefulShutdown({ await stowage.waitUntilRunning() }) {
            await cancelWhenGracefulShutdown {
                _ = await stowage.runAsBackground { await stowage.runBackground(wrapped) }
            }
        }
        try? await gracefulShutdown()
    }
}

/// The group's last member, so the first to hear of a graceful shutdown: the server stops
/// being ready and stops accepting before the background members and the drain take their time.
struct ShutdownNoticeService: Service, CustomStringConvertible {
    static let name = "StowageShutdownNotice"
    let stowage: Stowage
    var description: String { Self.name }

    func run() async throws {
        try? await gracefulShutdown()
        await stowage.beginShutdown()
    }
}
