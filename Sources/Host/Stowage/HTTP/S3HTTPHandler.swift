import HTTPTypes
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOHTTP1
import StowageCore
import StowageXML
import Synchronization

/// What every connection handler shares.
struct RequestEnvironment: Sendable {
    let pipeline: S3Pipeline
    let logger: Logger
    /// The identity of requests before any auth stage runs (the first credential's owner).
    let defaultIdentity: S3Identity
    let region: String
    let requestIDs: RequestIDGenerator
    /// `limits.requestTimeout`: how long a connection may wait on its peer.
    let requestTimeout: TimeAmount
    let inFlight: InFlightRequests
    /// `/_stowage/` health, metrics and reset.
    let operations: OperationsEndpoints
    let metrics: ServerMetrics
    /// One line per answered request at `info` (request id, method, path, status, bytes, time).
    let accessLog: Logger
    /// Open once the backend is; S3 requests that arrive earlier wait on it.
    let gate: StartupGate
    /// Connections speak HTTPS: requests are `aws:SecureTransport`, and file bodies are read
    /// into buffers (TLS cannot send a file region with sendfile).
    let secure: Bool
}

/// Bridges one HTTP/1.1 connection to the S3 pipeline.
///
/// A classic channel handler rather than `NIOAsyncChannel`: on this machine the handler form
/// serves about 1.7x more small requests per second. Each request runs the pipeline in a task;
/// the request body reaches it through an async producer with backpressure (reads pause when
/// the consumer falls behind); the response comes back to the event loop and is written as
/// bytes, a `sendfile` file region, or a stream. Requests on a connection are served one at a
/// time: pipelined requests wait in `pipelined` (NIO's pipelining handler would toggle epoll
/// read interest twice per request, which costs more than the queue).
final class S3HTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// One request/response on the connection.
    struct Exchange {
        let id: UInt64
        let version: HTTPVersion
        let isHead: Bool
        var keepAlive: Bool
        var source: BodyProducer.Source?
        var bodyComplete = false
        var responseStarted = false
        var responseComplete = false
        var expectsContinue: Bool
        var continueSent = false
        /// The response went out before the body was read: drop the rest of the body.
        var discardingBody = false
        /// Body bytes the client has yet to send: `nil` for a chunked body.
        var unreadBody: Int64?
        /// Small bodies are collected here and the request starts once the body is complete.
        var collected: ByteBuffer?
        var deferred: (request: S3Request, context: S3Context)?
        /// Shared with the request's context: the host logs and counts from it.
        var record = RequestRecord()
        /// The request offered a protocol upgrade: NIO's decoder stops after it and is replaced.
        var offersUpgrade = false
    }

    /// Bodies up to this size (with a Content-Length) are collected before the request runs: for
    /// small objects the async body stream costs more than the bytes it carries.
    static let collectedBodyLimit: Int64 = 64 * 1024
    /// A response sent before the body was read drains at most this much of it to keep the
    /// connection open.
    static let drainLimit: Int64 = 1024 * 1024
    static let lingerTime = TimeAmount.seconds(5)

    let environment: RequestEnvironment
    let eventLoop: any EventLoop
    let executor: EventLoopTaskExecutor
    var context: ChannelHandlerContext?
    var exchange: Exchange?
    var exchangeCounter: UInt64 = 0
    var readPaused = false
    var readPending = false
    /// Parts of pipelined requests that arrived while an exchange was still running; served in
    /// order once it finishes. Reading pauses when too many wait.
    var pipelined: [HTTPServerRequestPart] = []
    var pipelinedPaused = false
    static let maxPipelinedParts = 64
    /// Body bytes of pipelined requests held at most: past this the socket is not read, so a
    /// client pipelining megabytes behind a slow request costs its kernel buffers, not our memory.
    static let maxPipelinedBytes = 64 * 1024
    var pipelinedBytes = 0
    var remoteAddress: String?
    /// Progress clocks for the timeout rules (see `checkTimeouts`).
    var inbound: ProgressClock
    var outbound: ProgressClock
    /// Body bytes of the current response handed to the channel, to tell from what is still
    /// buffered how much has gone out.
    var outboundEnqueued: Int64 = 0
    var idleSince = NIODeadline.now()
    var timeoutCheck: RepeatedTask?
    /// The response is out and the connection is closing; inbound bytes are dropped.
    var lingering = false
    /// The server is stopping: finish the exchange in progress, then close.
    var draining = false

    /// Sent down every connection when the server stops.
    struct Drain {}
    /// File bodies go out in slices of this size, so write progress is visible to the timeouts.
    static let fileSlice = 4 * 1024 * 1024
    /// File bodies up to this size are read and sent from memory.
    static let inlineFileLimit: Int64 = 64 * 1024
    static let allocator = ByteBufferAllocator()

    /// Body buffering between the socket and the consumer, in chunks.
    static let lowWatermark = 2
    static let highWatermark = 8

    init(environment: RequestEnvironment, eventLoop: any EventLoop) {
        self.environment = environment
        self.eventLoop = eventLoop
        self.executor = EventLoopTaskExecutor(eventLoop: eventLoop)
        self.inbound = ProgressClock(timeout: environment.requestTimeout, now: .now())
        self.outbound = ProgressClock(timeout: environment.requestTimeout, now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        environment.metrics.connectionOpened()
        self.context = context
        remoteAddress = context.channel.remoteAddress?.ipAddress
        let interval = TimeAmount.nanoseconds(max(environment.requestTimeout.nanoseconds / 4, 1_000_000))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeoutCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: min(interval, .seconds(1))) { _ in
            bound.value.checkTimeouts()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        environment.metrics.connectionClosed()
        timeoutCheck?.cancel()
        timeoutCheck = nil
        self.context = nil
    }

    /// Closes connections stuck on their peer for longer than `limits.requestTimeout`:
    /// waiting for a request (covers headers trickled byte by byte), a request body that stopped
    /// arriving while it is wanted (answered 400 RequestTimeout), or a response the client
    /// stopped reading. Bodies and responses must move at least `ProgressClock`'s minimum within
    /// each period (a byte now and then is not progress); a steady slow peer is never cut off.
    /// Time spent on our side (a slow disk, a long Complete) never counts.
    func checkTimeouts() {
        guard let context else { return }
        let now = NIODeadline.now()
        let limit = environment.requestTimeout
        guard let current = exchange else {
            if now - idleSince > limit { context.close(promise: nil) }
            return
        }
        let awaitingBody = !current.bodyComplete && (current.source != nil || current.discardingBody || current.collected != nil) && !readPaused
        if awaitingBody, inbound.isStalled(now: now) {
            current.source?.finish(S3Error(.requestTimeout))
            if current.responseStarted {
                context.close(promise: nil)
            } else {
                writeProtocolError(S3Error(.requestTimeout), context: context)
            }
            return
        }
        if current.responseStarted, !current.responseComplete {
            // Bytes leave a file region as the socket drains; what is no longer buffered went out.
            // (Under TLS the channel buffers ciphertext, so only completed writes count there.)
            if !environment.secure, let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) {
                outbound.observe(total: outboundEnqueued - Int64(buffered), now: now)
            }
            if outbound.isStalled(now: now) { context.close(promise: nil) }
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if lingering { return }
        let part = unwrapInboundIn(data)
        // A part of the next request while this one is still being answered: hold it.
        if !pipelined.isEmpty || (exchange.map { $0.bodyComplete } ?? false) {
            pipelined.append(part)
            if case .body(let bytes) = part { pipelinedBytes += bytes.readableBytes }
            if pipelined.count >= Self.maxPipelinedParts || pipelinedBytes >= Self.maxPipelinedBytes {
                pipelinedPaused = true
                readPaused = true
            }
            return
        }
        handle(part, context: context)
    }

    func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            startExchange(head, context: context)
        case .body(var buffer):
            inbound.moved(Int64(buffer.readableBytes), now: .now())
            guard var current = exchange else { return }
            current.record.addReceived(buffer.readableBytes)
            if let unread = current.unreadBody {
                current.unreadBody = unread - Int64(buffer.readableBytes)
                exchange = current
            }
            if current.discardingBody { return }
            if current.collected != nil {
                current.collected!.writeBuffer(&buffer)
                exchange = current
                return
            }
            guard let source = current.source else { return }
            switch source.yield(buffer) {
            case .produceMore: break
            case .stopProducing: readPaused = true
            case .dropped:
                current.discardingBody = true
                exchange = current
            }
        case .end:
            guard var current = exchange else { return }
            current.bodyComplete = true
            current.source?.finish()
            current.source = nil
            if let deferred = current.deferred, let collected = current.collected {
                current.deferred = nil
                current.collected = nil
                exchange = current
                if current.offersUpgrade { resumeDecoding(context: context) }
                var request = deferred.request
                request.body = S3Body(collected)
                launch(request, context: deferred.context, exchange: current.id, eventLoop: context.eventLoop)
                return
            }
            exchange = current
            if current.offersUpgrade { resumeDecoding(context: context) }
            if current.responseComplete { finishExchange(context: context) }
        }
    }

    /// NIO's request decoder stops parsing after a request that offers a protocol upgrade
    /// (`Connection: Upgrade` with `Upgrade: h2c`, as `curl --http2` sends), holding what follows
    /// for the upgraded protocol. The upgrade is declined (the answer is plain HTTP/1.1), so a
    /// fresh decoder takes the old one's place and parses the rest, leftover bytes included,
    /// and the connection keeps serving requests.
    func resumeDecoding(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        do {
            let stopped = try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(HTTPServer.requestDecoder(), position: .after(stopped.handler))
            pipeline.removeHandler(context: stopped, promise: nil)
        } catch {
            // No decoder to replace (a hand-built pipeline): the connection ends after this answer.
            exchange?.keepAlive = false
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let source = exchange?.source { source.finish(Self.clientGone) }
        exchange = nil
        context.fireChannelInactive()
    }

    /// What a body consumer sees when the client goes away mid-body.
    static let clientGone = S3Error(.incompleteBody, message: "The client closed the connection before sending the whole body.")

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Drain else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        draining = true
        pipelined.removeAll()
        pipelinedBytes = 0
        guard var current = exchange else {
            context.close(promise: nil)
            return
        }
        // Answer the request in progress with `Connection: close`, then close.
        if !current.responseStarted { current.keepAlive = false }
        exchange = current
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let source = exchange?.source { source.finish(Self.clientGone) }
        if let parseError = error as? HTTPParserError, exchange?.responseStarted != true {
            // Malformed HTTP still gets an S3 error document before the connection closes.
            let code: S3ErrorCode = parseError == .headerOverflow ? .requestHeaderSectionTooLarge : .badRequest
            writeProtocolError(S3Error(code), context: context)
            return
        }
        context.close(promise: nil)
    }

    // MARK: Outbound read control (backpressure)

    func read(context: ChannelHandlerContext) {
        if readPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// The body consumer wants more: read from the socket again.
    func resumeReading(exchange id: UInt64) {
        guard exchange?.id == id else { return }
        unpauseReads()
    }

    /// The consumer stopped iterating the body (finished early or failed): drop what still comes.
    func bodyConsumerGone(exchange id: UInt64) {
        guard var current = exchange, current.id == id else { return }
        if !current.bodyComplete { current.discardingBody = true }
        current.source = nil
        exchange = current
        unpauseReads()
    }

    /// The client may still be sending a body that will not be read. Closing at once would make
    /// the kernel answer its data with a reset, which can destroy the response before the client
    /// reads it; so our side ends (FIN after the response), whatever still arrives is dropped,
    /// and the connection closes when the client closes it or after `lingerTime`.
    func linger(_ context: ChannelHandlerContext) {
        lingering = true
        pipelinedPaused = false
        unpauseReads()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in bound.value.context?.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.scheduleTask(in: Self.lingerTime) { bound.value.context?.close(promise: nil) }
    }

    func unpauseReads() {
        if pipelinedPaused { return }
        // The peer's clock starts again when we ask for its bytes again.
        if readPaused { inbound.completed(now: .now()) }
        readPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }
}
