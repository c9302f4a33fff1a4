import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The listening socket and its connections.
final class HTTPServer: Sendable {
    private let channel: any Channel
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    let port: Int
    let address: String

    /// Header limits: S3 caps a request's headers at 8 KiB; a little more room keeps long
    /// presigned or policy headers working, and anything beyond is refused with
    /// `RequestHeaderSectionTooLarge` before it costs memory.
    static let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 16 * 1024
        limits.maxHeaderListSize = 64 * 1024
        limits.maxHeaderFieldCount = 256
        return limits
    }()

    /// A request decoder that forwards what it has not parsed when it is removed.
    static func requestDecoder() -> ByteToMessageHandler<HTTPRequestDecoder> {
        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop,
                                                limitConfiguration: decoderLimits))
    }

    private let inFlight: InFlightRequests

    private init(channel: any Channel, address: String, inFlight: InFlightRequests) {
        self.inFlight = inFlight
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.address = address
    }

    /// Binds and starts accepting; with `tls`, every connection speaks HTTPS.
    static func start(address: String, port: Int, environment: RequestEnvironment, tls: NIOSSLContext? = nil,
                      group: any EventLoopGroup) async throws -> HTTPServer {
        let registry = ConnectionRegistry()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(logger: environment.logger))
                }
            }
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    // The HTTP codec by hand rather than `configureHTTPServerPipeline`: S3HTTPHandler
                    // queues pipelined requests itself, response headers come from validated
                    // HTTPFields and our own constants, and the decoder hands on its leftover bytes
                    // when replaced after an upgrade offer (see `S3HTTPHandler.resumeDecoding`).
                    try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
                    try pipeline.addHandler(Self.requestDecoder())
                    try pipeline.addHandler(S3HTTPHandler(environment: environment, eventLoop: channel.eventLoop))
                    registry.add(channel)
                }
            }
        let channel = try await bootstrap.bind(host: address, port: port).get()
        let server = HTTPServer(channel: channel, address: address, inFlight: environment.inFlight)
        registry.attach(server)
        return server
    }

    fileprivate func track(_ child: any Channel) {
        let id = ObjectIdentifier(child)
        connections.withLock { $0[id] = child }
        child.closeFuture.whenComplete { [weak self] _ in
            _ = self?.connections.withLock { $0.removeValue(forKey: id) }
        }
    }

    var openConnections: Int { connections.withLock { $0.count } }

    /// Closes the listening socket: no new connections, and the port is free at once. The
    /// connections stay; `shutdown` drains them.
    func stopAccepting() async {
        try? await channel.close()
    }

    /// Stops accepting at once (the port is free as soon as this starts), lets requests in
    /// progress finish for up to `gracePeriod` (idle keep-alive connections close now, busy ones
    /// after their response), then closes what is left and waits for request tasks to clean up
    /// (an upload cut off removes its temp file) before the backend closes.
    func shutdown(gracePeriod: Duration) async {
        await stopAccepting()
        let open = connections.withLock { Array($0.values) }
        for child in open {
            child.eventLoop.execute { child.pipeline.fireUserInboundEventTriggered(S3HTTPHandler.Drain()) }
        }
        let deadline = ContinuousClock.now + gracePeriod
        while openConnections > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = connections.withLock { Array($0.values) }
        for child in remaining { try? await child.close() }
        await inFlight.drain(timeout: .seconds(10))
    }
}

/// Hands accepted connections to the server once it exists (the bootstrap's initializer runs
/// before `bind` returns the server object).
private final class ConnectionRegistry: Sendable {
    private let state = Mutex<(server: HTTPServer?, early: [any Channel])>((nil, []))

    func add(_ channel: any Channel) {
        let server = state.withLock { state -> HTTPServer? in
            if state.server == nil { state.early.append(channel) }
            return state.server
        }
        server?.track(channel)
    }

    func attach(_ server: HTTPServer) {
        let early = state.withLock { state -> [any Channel] in
            state.server = server
            let early = state.early
            state.early = []
            return early
        }
        for channel in early { server.track(channel) }
    }
}

/// Stops accepting for a moment after `accept` fails for want of descriptors or memory
/// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`). The listening socket stays readable while every
/// accept fails, and NIO would retry at once, spinning a core; this turns reading off on the
/// listening channel and back on after `pause`. Connections already open are served meanwhile.
/// (NIO's `AcceptBackoffHandler` paces explicit reads, which an auto-reading channel that
/// failed mid-read never issues.)
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel
    static let pause = TimeAmount.milliseconds(200)
    private let logger: Logger
    private var lastWarning: NIODeadline?
    private var paused = false

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let failure = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(failure.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        let now = NIODeadline.now()
        if lastWarning.map({ now - $0 > .seconds(10) }) ?? true {
            lastWarning = now
            logger.warning("cannot accept connections; pausing accepts briefly", metadata: [
                "error": "\(failure)", "pause-ms": "\(Self.pause.nanoseconds / 1_000_000)",
            ])
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: Self.pause) {
            let (handler, context) = bound.value
            handler.paused = false
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
