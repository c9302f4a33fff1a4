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
