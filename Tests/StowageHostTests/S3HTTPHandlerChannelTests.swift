import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import Stowage
import StowageCore
import Synchronization
import Testing

/// The connection handler on a testing channel: real HTTP bytes in, real HTTP bytes out, the
/// request runner and the state machine behind it, no socket.
@Suite("S3HTTPHandler on a testing channel", .timeLimit(.minutes(1)))
struct S3HTTPHandlerChannelTests {
    /// Answers every request itself: `METHOD path bytes=<body length>`; records the paths it saw.
    struct EchoStage: S3Stage {
        let seen: SeenPaths

        func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
            seen.add(request.rawPath)
            if request.rawPath.hasSuffix("/held") { await seen.waitForRelease() }
            let body = try await request.body.collect(upTo: 1 << 24, orThrow: S3Error(.entityTooLarge))
            let text = "\(request.method.rawValue) \(request.rawPath) bytes=\(body.readableBytes)"
            return S3Response(status: .ok, body: .bytes(ByteBuffer(string: text)))
        }
    }

    struct Unreachable: S3Responder {
        func respond(to request: S3Request, context: S3Context) async throws -> S3Response { throw S3Error(.internalError) }
    }

    static func environment(seen: SeenPaths) -> RequestEnvironment {
        var logger = Logger(label: "handler-tests")
        logger.logLevel = .critical
        let gate = StartupGate()
        gate.open()
        return RequestEnvironment(
            pipeline: S3Pipeline(stages: [EchoStage(seen: seen)], responder: Unreachable()), logger: logger, defaultIdentity: .anonymous,
            region: "us-east-1", requestIDs: RequestIDGenerator(), requestTimeout: .seconds(300), inFlight: InFlightRequests(),
            operations: OperationsEndpoints(endpoints: [:], domains: []), metrics: ServerMetrics(), accessLog: logger, gate: gate,
            secure: false
        )
    }

    /// The request paths the stage saw.
    final class SeenPaths: Sendable {
        private let paths = Mutex<[String]>([])
        func add(_ path: String) { paths.withLock { $0.append(path) } }
        var all: [String] { paths.withLock { $0 } }
        /// Requests for `.../held` wait for `release()` before reading their body.
        private let (released, releaser) = AsyncStream<Void>.makeStream()
        func waitForRelease() async { for await _ in released { break } }
        func release() { releaser.yield() }
    }

    /// Counts `read()` calls that reach the head of the pipeline (the socket would be read).
    final class ReadCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = Any
        let count = Atomic<Int>(0)
        func read(context: ChannelHandlerContext) {
            count.wrappingAdd(1, ordering: .relaxed)
            context.read()
        }
    }

    /// A channel with the server's codec and handler.
    static func channel(seen: SeenPaths = SeenPaths(), reads: ReadCounter? = nil) async throws -> NIOAsyncTestingChannel {
        let environment = environment(seen: seen)
        let channel = try await NIOAsyncTestingChannel { channel in
            let pipeline = channel.pipeline.syncOperations
            if let reads { try pipeline.addHandler(reads) }
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(HTTPServer.requestDecoder())
            try pipeline.addHandler(S3HTTPHandler(environment: environment, eventLoop: channel.eventLoop))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9000))
        return channel
    }

    /// Runs the loop until `count` responses (final ones, not 100) have been written, and
    /// returns everything written.
    static func output(_ channel: NIOAsyncTestingChannel, responses count: Int) async throws -> String {
        var text = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            await channel.testingEventLoop.run()
            while let data = try await channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
            }
            let finals = text.components(separatedBy: "HTTP/1.1 ").dropFirst().filter { !$0.hasPrefix("100") }
            // A response is complete once its body (Content-Length) is all there.
            if finals.count >= count, let last = finals.last, last.contains("\r\n\r\n"),
               let length = Self.contentLength(last), last.components(separatedBy: "\r\n\r\n")[1].utf8.count >= length {
                return text
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        return text
    }

    static func contentLength(_ response: String) -> Int? {
        for line in response.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    @Test("a request is answered with the framing and identity headers")
    func singleRequest() async throws {
        let channel = try await Self.channel()
        try await channel.writeInbound(ByteBuffer(string: "GET /bucket/key HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        let text = try await Self.output(channel, responses: 1)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("x-amz-request-id: "))
        #expect(text.contains("Content-Length: 23\r\n"))
        #expect(text.hasSuffix("GET /bucket/key bytes=0"))
        #expect(channel.isActive)
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("pipelined requests, bodies included, are answered in order on one connection")
    func pipelined() async throws {
        let channel = try await Self.channel()
        let requests = "PUT /b/one HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /b/two HTTP/1.1\r\nHost: h\r\n\r\n"
            + "PUT /b/three HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        try await channel.writeInbound(ByteBuffer(string: requests))
        let text = try await Self.output(channel, responses: 3)
        let bodies = text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.components(separatedBy: "HTTP/1.1")[0] }
        #expect(bodies == ["PUT /b/one bytes=5", "GET /b/two bytes=0", "PUT /b/three bytes=3"])
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("Expect: 100-continue gets 100 before the body is read, then the answer")
    func expectContinue() async throws {
        let channel = try await Self.channel()
        let size = 100_000
        try await channel.writeInbound(ByteBuffer(string: "PUT /b/big HTTP/1.1\r\nHost: h\r\nContent-Length: \(size)\r\nExpect: 100-continue\r\n\r\n"))
        var text = ""
        for _ in 0..<1000 where !text.contains("100 Continue") {
            await channel.testingEventLoop.run()
            if case .byteBuffer(let buffer)? = try await channel.readOutbound(as: IOData.self) { text += String(buffer: buffer) }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(text.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        try await channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        text += try await Self.output(channel, responses: 1)
        #expect(text.hasSuffix("PUT /b/big bytes=\(size)"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("two Host headers are a 400 S3 error and the connection closes")
    func duplicateHost() async throws {
        let seen = SeenPaths()
        let channel = try await Self.channel(seen: seen)
        try await channel.writeInbound(ByteBuffer(string: "GET /b/k HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /b/next HTTP/1.1\r\nHost: a\r\n\r\n"))
        let text = try await Self.output(channel, responses: 1)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(text.contains("<Code>BadRequest</Code>"))
        #expect(text.contains("Connection: close"))
        // The request behind it is dropped, not served on a closing connection.
        #expect(!text.contains("/b/next"))
        try await channel.closeFuture.get()
        await channel.testingEventLoop.run()
        #expect(seen.all.isEmpty)
    }

    @Test("a read is held while the body stream is full and issued when the request consumes it")
    func readBackpressure() async throws {
        let reads = ReadCounter()
        let seen = SeenPaths()
        let channel = try await Self.channel(seen: seen, reads: reads)
        let chunk = ByteBuffer(repeating: 0x62, count: 1024)
        try await channel.writeInbound(ByteBuffer(string: "PUT /b/held HTTP/1.1\r\nHost: h\r\nContent-Length: \(100 * 1024)\r\n\r\n"))
        // The request holds off reading its body: chunks pile up in the stream until it is
        // full, and a read asked for then is held.
        for _ in 0..<(S3HTTPHandler.highWatermark + 2) { try await channel.writeInbound(chunk) }
        await channel.testingEventLoop.run()
        let before = reads.count.load(ordering: .relaxed)
        channel.pipeline.read()
        try await channel.testingEventLoop.executeInContext {}
        #expect(reads.count.load(ordering: .relaxed) == before)
        // The request reads its body: the held read goes out.
        seen.release()
        for _ in 0..<100 where reads.count.load(ordering: .relaxed) == before {
            await channel.testingEventLoop.run()
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(reads.count.load(ordering: .relaxed) > before)
        for _ in 0..<(100 - S3HTTPHandler.highWatermark - 2) { try await channel.writeInbound(chunk) }
        let text = try await Self.output(channel, responses: 1)
        #expect(text.hasSuffix("PUT /b/held bytes=\(100 * 1024)"))
        _ = try await channel.finish(acceptAlreadyClosed: true)
    }

    @Test("malformed HTTP gets an S3 error document")
    func malformed() async throws {
        let channel = try await Self.channel()
        _ = try? await channel.writeInbound(ByteBuffer(string: "NOT HTTP AT ALL\r\n\r\n"))
        let text = try await Self.output(channel, responses: 1)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(text.contains("<Code>BadRequest</Code>"))
        try await channel.closeFuture.get()
    }

    @Test("garbage behind a valid request: that request is answered first, then the connection closes")
    func garbageBehindARequest() async throws {
        let channel = try await Self.channel()
        _ = try? await channel.writeInbound(ByteBuffer(string: "GET /b/one HTTP/1.1\r\nHost: h\r\n\r\nNOT HTTP AT ALL\r\n\r\n"))
        let text = try await Self.output(channel, responses: 1)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(text.hasSuffix("GET /b/one bytes=0"))
        try await channel.closeFuture.get()
    }

    @Test("a drain closes an idle connection at once")
    func drainIdle() async throws {
        let channel = try await Self.channel()
        channel.pipeline.fireUserInboundEventTriggered(S3HTTPHandler.Drain())
        await channel.testingEventLoop.run()
        try await channel.closeFuture.get()
    }

    @Test("a drain lets the exchange in progress finish with Connection: close")
    func drainBusy() async throws {
        let channel = try await Self.channel()
        try await channel.writeInbound(ByteBuffer(string: "PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(S3HTTPHandler.Drain())
        try await channel.writeInbound(ByteBuffer(repeating: 0x61, count: 100_000))
        let text = try await Self.output(channel, responses: 1)
        #expect(text.contains("Connection: close\r\n"))
        #expect(text.hasSuffix("PUT /b/k bytes=100000"))
        try await channel.closeFuture.get()
    }
}
