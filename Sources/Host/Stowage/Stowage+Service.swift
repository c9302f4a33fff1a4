public import ServiceLifecycle

/// A Stowage server is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` beside
/// your other services, and the group's graceful shutdown (SIGTERM, say) drains its requests.
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
}
