import NIOCore
import HTTPTypes
import Foundation
import Stowage
import StowageCore
import StowageFileStore
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// A server on a free port in its own temp directory, stopped and removed afterwards.
func withServer(_ configure: (inout StowageConfiguration) -> Void = { _ in }, _ body: (Stowage, String) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-host-\(UUID().uuidString)").path
    var configuration = StowageConfiguration()
    configuration.server.port = 0
    configuration.server.address = "127.0.0.1"
    configuration.storage.directory = directory
    configure(&configuration)
    let server = try await Stowage.createAndStart(configuration)
    do {
        try await body(server, directory)
    } catch {
        try? await server.stop()
        try? FileManager.default.removeItem(atPath: directory)
        throw error
    }
    try await server.stop()
    try? FileManager.default.removeItem(atPath: directory)
}

@Suite("HTTP host over real sockets", .timeLimit(.minutes(1)))
struct HostTests {
    @Test("put and get over one keep-alive connection")
    func keepAlive() async throws {
        try await withServer { server, _ in
            try await server.createBucket("bucket")
            try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /bucket/hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
            let put = try await connection.readResponse()
            #expect(put.status == 200)
            #expect(put.header("ETag") == "\"5d41402abc4b2a76b9719d911017c592\"")
            #expect(put.header("x-amz-request-id")?.count == 16)
            try await connection.send("GET /bucket/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let get = try await connection.readResponse()
            #expect(get.status == 200)
            #expect(get.text == "hello")
            #expect(get.header("Content-Type") == "text/plain")
            #expect(get.header("Accept-Ranges") == "bytes")
            #expect(get.header("Last-Modified") != nil)
            try await connection.send("HEAD /bucket/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let head = try await connection.readResponse(headOnly: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5")
            try await connection.send("GET /bucket/hello.txt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=1-3\r\n\r\n")
            let range = try await connection.readResponse()
            #expect(range.status == 206)
            #expect(range.text == "ell")
            #expect(range.header("Content-Range") == "bytes 1-3/5")
            #expect(put.header("x-amz-request-id") != get.header("x-amz-request-id"))
            }
        }
    }

    @Test("Expect: 100-continue is answered before the body is sent")
    func expectContinue() async throws {
        try await withServer { server, _ in
            try await server.createBucket("bucket")
            try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /bucket/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
            let interim = try await connection.readResponse(headOnly: true)
            #expect(interim.status == 100)
            try await connection.send("abc")
            let final = try await connection.readResponse()
            #expect(final.status == 200)
            }
        }
    }

    @Test("a request refused before its body never gets 100 Continue and closes")
    func refusedBeforeBody() async throws {
        try await withServer { server, _ in
            try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /missing-bucket/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 404)
            #expect(response.text.contains("<Code>NoSuchBucket</Code>"))
            #expect(response.header("Connection") == "close")
            #expect(try await connection.isClosedByServer())
            }
        }
    }

    @Test("an early error while the body streams keeps the connection usable")
    func earlyErrorDrainsBody() async throws {
        try await withServer { server, _ in
            try await server.createBucket("bucket")
            try await RawHTTPConnection.with(port: server.port) { connection in
            // Bad Content-MD5 is rejected before the body is read; the body still arrives.
            try await connection.send("PUT /bucket/k HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-MD5: nonsense\r\n\r\nhello")
            let rejected = try await connection.readResponse()
            #expect(rejected.status == 400)
            #expect(rejected.text.contains("<Code>InvalidDigest</Code>"))
            try await connection.send("GET /bucket/k HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let missing = try await connection.readResponse()
            #expect(missing.status == 404)
            }
        }
    }

    @Test("malformed HTTP and oversized headers get S3 XML errors")
    func protocolErrors() async throws {
        try await withServer { server, _ in
            try await RawHTTPConnection.with(port: server.port) { garbage in
                try await garbage.send("THIS IS NOT HTTP\r\n\r\n")
                let bad = try await garbage.readResponse()
                #expect(bad.status == 400)
                #expect(bad.text.contains("<Code>BadRequest</Code>"))
            }
            try await RawHTTPConnection.with(port: server.port) { huge in
                try await huge.send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: \(String(repeating: "a", count: 70_000))\r\n\r\n")
                let tooLarge = try await huge.readResponse()
                #expect(tooLarge.status == 400)
                #expect(tooLarge.text.contains("<Code>RequestHeaderSectionTooLarge</Code>"))
            }
            // The server is still healthy.
            try await RawHTTPConnection.with(port: server.port) { healthy in
                try await healthy.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(try await healthy.readResponse().status == 200)
            }
        }
    }

    @Test("a client that disconnects mid-upload leaves no object and no temp file")
    func disconnectMidUpload() async throws {
        try await withServer { server, directory in
            try await server.createBucket("bucket")
            try await RawHTTPConnection.with(port: server.port) { connection in
            try await connection.send("PUT /bucket/partial HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10485760\r\n\r\n")
            try await connection.send([UInt8](repeating: 7, count: 1_048_576))
            }
            // Wait until the server has noticed and cleaned up.
            var leftovers: [String] = ["pending"]
            for _ in 0..<200 {
                leftovers = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/.stowage/tmp")) ?? []
                if leftovers.isEmpty { break }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            #expect(leftovers.isEmpty)
            try await RawHTTPConnection.with(port: server.port) { check in
                try await check.send("HEAD /bucket/partial HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(try await check.readResponse(headOnly: true).status == 404)
            }
        }
    }

    @Test("descriptor, idempotent start/stop, port released, servers independent")
    func lifecycle() async throws {
        let directoryA = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-a-\(UUID().uuidString)").path
        let directoryB = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-b-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: directoryA)
            try? FileManager.default.removeItem(atPath: directoryB)
        }
        var configuration = StowageConfiguration()
        configuration.server.port = 0
        configuration.server.address = "127.0.0.1"
        configuration.storage.directory = directoryA
        let a = try await Stowage.createAndStart(configuration)
        configuration.storage.directory = directoryB
        let b = try await Stowage.createAndStart(configuration)
        #expect(a.port != b.port && a.port > 0)
        let descriptor = a.storageDescriptor()
        #expect(descriptor == StorageDescriptor(endpoint: "localhost", port: a.port, accessKey: "STORAGE", accessSecret: "STORAGE", useSsl: false))
        #expect(descriptor.endpointURL == "http://localhost:\(a.port)")
        try await a.start()
        try await a.createBucket("only-in-a")
        #expect(try await b.backend.listBuckets().isEmpty)
        let port = a.port
        try await a.stop()
        try await a.stop()
        #expect(!a.isRunning)

        // The port is free again at once.
        configuration.server.port = port
        configuration.storage.directory = directoryA
        let again = try await Stowage.createAndStart(configuration)
        #expect(again.port == port)
        #expect(try await again.backend.listBuckets().map(\.name) == ["only-in-a"])
        try await again.stop()
        try await b.stop()
    }

    @Test("authentication needs an authenticating stage, then an authorizing one")
    func authNeedsAStage() async throws {
        var configuration = StowageConfiguration()
        configuration.storage.directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-auth-\(UUID().uuidString)").path
        configuration.auth.enabled = true
        for stages in [["xml", "routing", "policy"], ["xml", "routing", "sigv4"], ["xml", "routing", "policy", "sigv4"]] {
            configuration.pipeline.stages = stages
            #expect { try Stowage(configuration) } throws: { ($0 as? ConfigurationError)?.field == "auth.enabled" }
        }
        configuration.pipeline.stages = ["xml", "routing", "cors", "sigv4", "policy"]
        #expect(throws: Never.self) { try Stowage(configuration) }
    }

    @Test("a custom authentication stage replaces SigV4 through the registry")
    func customAuthStage() async throws {
        struct HeaderAuth: S3Stage {
            let identity: S3Identity
            var role: S3StageRole { .authentication }
            func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
                var context = context
                context.identity = request.headers[.authorization] == "Bearer good" ? identity : .anonymous
                return try await next(request, context)
            }
        }
        var registry = PluginRegistry.builtIn
        registry.registerStage("header-auth") { environment in
            HeaderAuth(identity: environment.configuration.auth.credentials[0].identity)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-custom-auth-\(UUID().uuidString)").path
        var configuration = StowageConfiguration()
        configuration.server.port = 0
        configuration.server.address = "127.0.0.1"
        configuration.storage.directory = directory
        configuration.auth.enabled = true
        configuration.pipeline.stages = ["xml", "routing", "cors", "header-auth", "policy"]
        let server = try await Stowage.createAndStart(configuration, registry: registry)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try await RawHTTPConnection.with(port: server.port) { connection in
                try await connection.send("PUT /mine HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer good\r\nContent-Length: 0\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
                try await connection.send("GET /mine HTTP/1.1\r\nHost: localhost\r\n\r\n")
                let anonymous = try await connection.readResponse()
                #expect(anonymous.status == 403)
                #expect(String(decoding: anonymous.body, as: UTF8.self).contains("<Code>AccessDenied</Code>"))
                try await connection.send("GET /mine HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer good\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
            }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test("configuration files decode with defaults and name bad fields")
    func configurationFile() throws {
        let configuration = try StowageConfiguration.load(json: #"{"server": {"port": 9100}, "limits": {"maxMetadataSize": 10}}"#)
        #expect(configuration.server.port == 9100)
        #expect(configuration.limits.maxMetadataSize == 10)
        #expect { try StowageConfiguration.load(json: #"{"server": {"port": "x"}}"#) } throws: { ($0 as? ConfigurationError)?.field == "server.port" }
        #expect { try StowageConfiguration.load(json: #"{"storage": {"bogus": 1}}"#) } throws: { ($0 as? ConfigurationError)?.field == "storage.bogus" }
        #expect { try StowageConfiguration.load(json: "{") } throws: { $0 is ConfigurationError }
    }
}

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
            try await Task.sleep(for: .milliseconds(20))  // the request is parked on the gate
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
