import Logging
import NIOCore
import NIOHTTP1
import StowageCore

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

/// Bridges one HTTP/1.1 connection to the S3 pipeline: feeds channel events to a
/// `ConnectionStateMachine` and performs the actions it returns; `RequestRunner` runs each
/// request in a task on the connection's event loop and hands the answer back through
/// `ResponseSink` (see `S3HTTPHandler+Responses`).
///
/// A classic channel handler rather than `NIOAsyncChannel`: on this machine the handler form
/// serves about 1.7x more small requests per second. Request bodies reach the request through
/// an async producer with backpressure (reads pause while the consumer is behind). Pipelined
/// requests are queued by the state machine (NIO's pipelining handler would toggle epoll read
/// interest twice per request, which costs more than the queue).
final class S3HTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Sent down every connection when the server stops.
    struct Drain {}
    static let lingerTime = TimeAmount.seconds(5)
    /// Body buffering between the socket and the consumer, in chunks.
    static let lowWatermark = 2
    static let highWatermark = 8

    let environment: RequestEnvironment
    let runner: RequestRunner
    var machine: ConnectionStateMachine
    var context: ChannelHandlerContext?
    var remoteAddress: String?
    var timeoutCheck: RepeatedTask?
    /// The current exchange's body stream, while the request may read it.
    var source: BodyProducer.Source?
    /// A request whose body is being collected: it runs when the body is complete.
    var held: (request: S3Request, context: S3Context)?
    /// Shared with the current request's context: the host logs and counts from it.
    var record: RequestRecord?

    init(environment: RequestEnvironment, eventLoop: any EventLoop, limits: ConnectionStateMachine.Limits? = nil) {
        self.environment = environment
        self.runner = RequestRunner(environment: environment, eventLoop: eventLoop)
        self.machine = ConnectionStateMachine(limits: limits ?? .init(requestTimeout: environment.requestTimeout), now: .now())
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

    /// Closes connections stuck on their peer for longer than `limits.requestTimeout` (the
    /// rules are `ConnectionStateMachine.checkTimeouts`).
    func checkTimeouts() {
        guard let context else { return }
        // Under TLS the channel buffers ciphertext, so only completed writes count there.
        let secure = environment.secure
        let action = machine.checkTimeouts(now: .now()) {
            secure ? nil : (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)).map { Int64($0) }
        }
        switch action {
        case .none:
            break
        case .close:
            finishSource(S3Error(.requestTimeout))
            context.close(promise: nil)
        case .requestTimeout:
            finishSource(S3Error(.requestTimeout))
            writeProtocolError(S3Error(.requestTimeout), context: context)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.receive(unwrapInboundIn(data), now: .now()), context: context)
    }

    func perform(_ action: ConnectionStateMachine.InboundAction, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .start(let start):
            startExchange(start, context: context)
        case .counted(let count):
            record?.addReceived(count)
        case .forward(let buffer):
            record?.addReceived(buffer.readableBytes)
            switch source?.yield(buffer) {
            case .produceMore, nil: break
            case .stopProducing: machine.bodyStreamFull()
            case .dropped: machine.bodyStreamDropped()
            }
        case .ended(let end):
            if end.finishStream { finishSource(nil) }
            if end.resumeDecoding { resumeDecoding(context: context) }
            if let collected = end.collected, let held {
                self.held = nil
                var request = held.request
                request.body = S3Body(collected)
                launch(request, context: held.context, exchange: end.id)
            } else if end.finishesExchange {
                finish(machine.finishExchange(now: .now()), context: context)
            }
        }
    }

    func startExchange(_ start: ConnectionStateMachine.ExchangeStart, context: ChannelHandlerContext) {
        let id = start.id
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        record = RequestRecord()
        held = nil
        var body = S3Body.empty
        if start.body == .stream {
            let produced = BodyProducer.makeSequence(
                backPressureStrategy: .init(lowWatermark: Self.lowWatermark, highWatermark: Self.highWatermark),
                finishOnDeinit: true, delegate: BodyProducerDelegate(handler: bound, exchange: id)
            )
            source = produced.source
            let sendContinue: (@Sendable () -> Void)? = start.continueOnDemand
                ? { @Sendable in bound.eventLoop.execute { bound.value.sendContinue(exchange: id) } } : nil
            body = S3Body(stream: ContinueOnDemandBody(producer: produced.sequence, sendContinue: sendContinue), length: start.contentLength)
        }
        if start.continueNow { sendContinue(exchange: id) }
        switch S3Request.fromHTTP1(start.head, body: body) {
        case .failure(let error):
            finishSource(Self.clientGone)
            writeProtocolError(error, context: context)
        case .success(let request):
            var requestContext = S3Context(
                requestID: environment.requestIDs.next(), logger: environment.logger, identity: environment.defaultIdentity,
                region: environment.region, remoteAddress: remoteAddress, isSecureTransport: environment.secure
            )
            requestContext.record = record
            if start.body == .collect {
                held = (request, requestContext)
            } else {
                launch(request, context: requestContext, exchange: id)
            }
        }
    }

    func launch(_ request: S3Request, context requestContext: S3Context, exchange id: UInt64) {
        guard let context else { return }
        runner.launch(request, context: requestContext, exchange: id, sink: NIOLoopBound(self, eventLoop: context.eventLoop))
    }

    /// How the connection goes on after an exchange.
    func finish(_ end: ConnectionStateMachine.ExchangeEnd, context: ChannelHandlerContext) {
        switch end {
        case .close:
            context.close(promise: nil)
        case .linger(let readNow):
            linger(context)
            if readNow { context.read() }
        case .keepAlive:
            // Serve requests that were pipelined behind this one.
            while let action = machine.nextPipelined(now: .now()) {
                perform(action, context: context)
            }
            if machine.pipelineServed(now: .now()) { context.read() }
        }
    }

    func finishSource(_ error: (any Error)?) {
        if let error { source?.finish(error) } else { source?.finish() }
        source = nil
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
            machine.cannotContinueDecoding()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if machine.closed() { finishSource(Self.clientGone) }
        source = nil
        held = nil
        context.fireChannelInactive()
    }

    /// What a body consumer sees when the client goes away mid-body.
    static let clientGone = S3Error(.incompleteBody, message: "The client closed the connection before sending the whole body.")

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is Drain else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if machine.drain() { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let parseError = error as? HTTPParserError
        let action = machine.failed(parseError: parseError != nil)
        finishSource(Self.clientGone)
        switch action {
        case .none:
            break
        case .close:
            context.close(promise: nil)
        case .answer:
            // Malformed HTTP still gets an S3 error document before the connection closes.
            let code: S3ErrorCode = parseError == .headerOverflow ? .requestHeaderSectionTooLarge : .badRequest
            writeProtocolError(S3Error(code), context: context)
        }
    }

    // MARK: Outbound read control (backpressure)

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    /// The body consumer wants more: read from the socket again.
    func resumeReading(exchange id: UInt64) {
        if machine.bodyConsumerWantsMore(exchange: id, now: .now()) { context?.read() }
    }

    /// The consumer stopped iterating the body (finished early or failed): drop what still comes.
    func bodyConsumerGone(exchange id: UInt64) {
        guard machine.isCurrent(id) else { return }
        source = nil
        if machine.bodyConsumerGone(exchange: id, now: .now()) { context?.read() }
    }

    /// The client may still be sending a body that will not be read. Closing at once would make
    /// the kernel answer its data with a reset, which can destroy the response before the client
    /// reads it; so our side ends (FIN after the response), whatever still arrives is dropped,
    /// and the connection closes when the client closes it or after `lingerTime`.
    func linger(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in bound.value.context?.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.scheduleTask(in: Self.lingerTime) { bound.value.context?.close(promise: nil) }
    }
}
