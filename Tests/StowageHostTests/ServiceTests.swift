import NIOCore
import HTTPTypes
import Foundation
@testable import Stowage
import StowageCore
import StowageFileStore
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Stowage as a swift-service-lifecycle service, and the builder", .timeLimit(.minutes(1)))
struct ServiceTests {
    struct Ticker: Service {
        let ticks: Counter
        func run() async throws {
            while !Task.isCancelled {
                ticks.increment()
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    /// A builder for a server on a free loopback port in a fresh temporary directory, which the
    /// caller removes.
    static func loopbackBuilder(_ name: String) -> (StowageBuilder, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
        var builder = StowageBuilder()
        builder.configuration.server.port = 0
        builder.configuration.server.address = "127.0.0.1"
        builder.configuration.storage.directory = directory
        return (builder, directory)
    }

    @Test func runsInAServiceGroupUntilGracefulShutdown() async throws {
        var (builder, directory) = Self.loopbackBuilder("stowage-service")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ticks = Counter()
        builder.services.append(Ticker(ticks: ticks))
        let server = try builder.build()
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        while !server.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /from-group HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
        }
        while ticks.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!server.isRunning)
        let settled = ticks.count
        try await Task.sleep(for: .milliseconds(30))
        #expect(ticks.count == settled, "extra services are cancelled when the server stops")
    }

    struct OneShot: Service {
        let ran: Counter
        func run() async throws { ran.increment() }
    }

    @Test func eachPieceIsAGroupMemberAndShutdownStopsThemInReverse() async throws {
        var (builder, directory) = Self.loopbackBuilder("stowage-members")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ticks = Counter()
        let oneShot = Counter()
        builder.services = [Ticker(ticks: ticks), OneShot(ran: oneShot)]
        let server = try builder.build()
        // HTTP server, multipart expiry, the two extra services, the shutdown notice.
        #expect(server.services.count == 5)
        let group = ServiceGroup(services: server.services, logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        #expect(await server.waitUntilRunning())
        try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /from-members HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
        }
        while ticks.count == 0 || oneShot.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        // The one-shot service has returned; the group keeps running regardless.
        try await Task.sleep(for: .milliseconds(30))
        #expect(server.isRunning)
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!server.isRunning)
        let settled = ticks.count
        try await Task.sleep(for: .milliseconds(30))
        #expect(ticks.count == settled)
    }

    @Test func aFailedStartFailsTheGroupWithItsOwnError() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-occupied-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first = StowageConfiguration()
        first.server.port = 0
        first.server.address = "127.0.0.1"
        first.storage.directory = directory + "/a"
        let occupant = try await Stowage.createAndStart(first)
        var second = first
        second.server.port = occupant.port
        second.storage.directory = directory + "/b"
        let server = try Stowage(second)
        let group = ServiceGroup(services: server.services, logger: Logger(label: "test"))
        let error = await #expect(throws: (any Error).self) { try await group.run() }
        // The bind error itself, not the group complaining that a background member returned.
        #expect(!(error is ServiceGroupError), "\(String(describing: error))")
        #expect(!server.isRunning)
        try await occupant.stop()
    }

    /// A backend whose `open()` waits to be released, to catch `stop()` in the middle of a start.
    final class GatedOpenBackend: StorageBackend {
        let entered = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let closes = Counter()
        let openFails: Bool
        init(openFails: Bool = false) { self.openFails = openFails }
        func open() async throws {
            entered.continuation.yield()
            for await _ in release.stream { break }
            if openFails { throw S3Error(.internalError, message: "disk on fire") }
        }
        func close() async throws { closes.increment() }
        private var unused: S3Error { S3Error(.notImplemented) }
        func listBuckets() async throws -> [BucketInfo] { [] }
        func createBucket(_ name: String, owner: S3Identity, region: String) async throws -> BucketInfo { throw unused }
        func deleteBucket(_ name: String) async throws { throw unused }
        func bucket(_ name: String) async throws -> BucketInfo { throw unused }
        func putObject(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions) async throws -> ObjectInfo { throw unused }
        func getObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult { throw unused }
        func headObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult { throw unused }
        func deleteObject(_ address: ObjectAddress, conditions: WriteConditions) async throws { throw unused }
        func copyObject(from source: ObjectAddress, to destination: ObjectAddress, options: CopyObjectOptions) async throws -> ObjectInfo { throw unused }
        func listObjects(bucket: String, query: ListObjectsQuery) async throws -> ListObjectsPage { throw unused }
        func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]? { throw unused }
        func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws { throw unused }
    }

    @Test func stopDuringStartWaitsForItThenStops() async throws {
        var configuration = StowageConfiguration()
        configuration.server.port = 0
        configuration.server.address = "127.0.0.1"
        let backend = GatedOpenBackend()
        let server = try Stowage(configuration: configuration, backend: backend, stages: [])
        let starting = Task { try await server.start() }
        var entered = backend.entered.stream.makeAsyncIterator()
        _ = await entered.next()
        // A second start joins the one in progress instead of binding another socket.
        let joining = Task { try await server.start() }
        let stopping = Task { try await server.stop() }
        try await Task.sleep(for: .milliseconds(20))
        #expect(backend.closes.count == 0, "stop waits for the start in progress")
        backend.release.continuation.yield()
        try await starting.value
        try await joining.value
        try await stopping.value
        #expect(!server.isRunning)
        #expect(backend.closes.count == 1)
    }

    @Test func requestsWaitingWhenTheBackendFailsToOpenGet503() async throws {
        // A free port known before the server runs (its port is not reported until it does).
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        var configuration = StowageConfiguration()
        configuration.server.port = port
        configuration.server.address = "127.0.0.1"
        let backend = GatedOpenBackend(openFails: true)
        let server = try Stowage(configuration: configuration, backend: backend, stages: [])
        let starting = Task { try await server.start() }
        var entered = backend.entered.stream.makeAsyncIterator()
        _ = await entered.next()
        let waiter = Task { await server.waitUntilRunning() }   // parks on the start in progress
        let status = try await RawHTTPConnection.with(port: port) { connection in
            try await connection.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            // Until the request is parked on the gate (a request not yet read when the start
            // fails finds its connection closed).
            for _ in 0..<500 where server.requestGate.withLock({ $0?.parkedCount ?? 0 }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            backend.release.continuation.yield()
            return try await connection.readResponse()
        }
        #expect(status.status == 503)
        #expect(await waiter.value == false, "a waiter on a start that fails hears false")
        #expect(status.text.contains("<Code>ServiceUnavailable</Code>"))
        await #expect(throws: S3Error.self) { try await starting.value }
        #expect(!server.isRunning)
    }

    @Test func aStopTheMomentTheServerRunsCancelsItsBackgroundServices() async throws {
        for _ in 0..<20 {
            var (builder, directory) = Self.loopbackBuilder("stowage-quickstop")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let ticks = Counter()
            builder.services = [Ticker(ticks: ticks)]
            let server = try builder.build()
            let starting = Task { try await server.start() }
            #expect(await server.waitUntilRunning())
            try await server.stop()
            try await starting.value
            let settled = ticks.count
            try await Task.sleep(for: .milliseconds(20))
            #expect(ticks.count == settled, "a background service outlived stop()")
        }
    }

    @Test func aStartDuringADrainingStopWaitsAndGetsAnOpenBackend() async throws {
        var (builder, directory) = Self.loopbackBuilder("stowage-restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        builder.configuration.server.shutdownGracePeriod = 400
        let server = try builder.build()
        try await server.start()
        try await server.createBucket("kept")
        let port = server.port
        // A request whose body never finishes keeps the drain busy for the grace period.
        try await RawHTTPConnection.with(port: port) { connection in
            try await connection.send("PUT /kept/slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
            try await Task.sleep(for: .milliseconds(50))
            let stopping = Task { try await server.stop() }
            try await Task.sleep(for: .milliseconds(50))
            try await server.start()                  // waits for the stop, then starts afresh
            try await stopping.value
        }
        #expect(server.isRunning)
        try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /kept/after HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nok")
            #expect(try await connection.readResponse().status == 200, "the backend is open after the restart")
        }
        try await server.stop()
    }

    @Test func waitUntilRunningFollowsALaterStartAfterAFailedOne() async throws {
        let occupant = try await Stowage.createAndStart({
            var c = StowageConfiguration()
            c.server.port = 0
            c.server.address = "127.0.0.1"
            c.storage.directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-occupant-\(UUID().uuidString)").path
            return c
        }())
        defer { try? FileManager.default.removeItem(atPath: occupant.configuration.storage.directory) }
        var (builder, directory) = Self.loopbackBuilder("stowage-retry")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        builder.configuration.server.port = occupant.port
        let server = try builder.build()
        await #expect(throws: (any Error).self) { try await server.start() }
        let waiter = Task { await server.waitUntilRunning() }
        try await occupant.stop()
        try await server.start()
        #expect(await waiter.value, "a waiter parked after the failed start hears of the successful one")
        try await server.stop()
    }

    struct CleansUpThroughTheBackend: Service {
        let backend: any StorageBackend
        let running: Counter
        let cleanedUp: Counter
        func run() async throws {
            running.increment()
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            if (try? await backend.listBuckets()) != nil { cleanedUp.increment() }
        }
    }

    @Test func aCancelledGroupClosesTheBackendAfterItsBackgroundMembers() async throws {
        var (builder, directory) = Self.loopbackBuilder("stowage-cancelled")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = FileStoreBackend(options: .init(directory: directory))
        builder.backend = backend
        let cleanedUp = Counter()
        let serviceRunning = Counter()
        builder.services = [CleansUpThroughTheBackend(backend: backend, running: serviceRunning, cleanedUp: cleanedUp)]
        let server = try builder.build()
        let group = ServiceGroup(services: server.services, logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        while serviceRunning.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        running.cancel()                           // every member cancelled at once
        _ = try? await running.value
        #expect(cleanedUp.count == 1, "the background member's last backend call ran before the backend closed")
    }

    @Test func builderReplacesTheBackendAndStages() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-builder-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        struct Teapot: S3Stage {
            func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
                S3Response(status: .init(code: 418))
            }
        }
        var builder = StowageBuilder()
        builder.configuration.server.port = 0
        builder.configuration.server.address = "127.0.0.1"
        builder.configuration.storage.directory = directory
        builder.stages = [Teapot()]
        let server = try builder.build()
        try await server.start()
        do {
            try await RawHTTPConnection.with(port: server.port) { connection in
                try await connection.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(try await connection.readResponse().status == 418)
            }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
