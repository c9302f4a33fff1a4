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
    private struct Exchange {
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
    private static let collectedBodyLimit: Int64 = 64 * 1024
    /// A response sent before the body was read drains at most this much of it to keep the
    /// connection open.
    private static let drainLimit: Int64 = 1024 * 1024
    private static let lingerTime = TimeAmount.seconds(5)

    private let environment: RequestEnvironment
    private let eventLoop: any EventLoop
    private let executor: EventLoopTaskExecutor
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var exchangeCounter: UInt64 = 0
    private var readPaused = false
    private var readPending = false
    /// Parts of pipelined requests that arrived while an exchange was still running; served in
    /// order once it finishes. Reading pauses when too many wait.
    private var pipelined: [HTTPServerRequestPart] = []
    private var pipelinedPaused = false
    private static let maxPipelinedParts = 64
    /// Body bytes of pipelined requests held at most: past this the socket is not read, so a
    /// client pipelining megabytes behind a slow request costs its kernel buffers, not our memory.
    private static let maxPipelinedBytes = 64 * 1024
    private var pipelinedBytes = 0
    private var remoteAddress: String?
    /// Progress clocks for the timeout rules (see `checkTimeouts`).
    private var inbound: ProgressClock
    private var outbound: ProgressClock
    /// Body bytes of the current response handed to the channel, to tell from what is still
    /// buffered how much has gone out.
    private var outboundEnqueued: Int64 = 0
    private var idleSince = NIODeadline.now()
    private var timeoutCheck: RepeatedTask?
    /// The response is out and the connection is closing; inbound bytes are dropped.
    private var lingering = false
    /// The server is stopping: finish the exchange in progress, then close.
    private var draining = false

    /// Sent down every connection when the server stops.
    struct Drain {}
    /// File bodies go out in slices of this size, so write progress is visible to the timeouts.
    private static let fileSlice = 4 * 1024 * 1024
    /// File bodies up to this size are read and sent from memory.
    private static let inlineFileLimit: Int64 = 64 * 1024
    private static let allocator = ByteBufferAllocator()

    /// Reads `length` bytes at `offset`; `nil` if the file came up short (it is then sent with sendfile, which reports the error).
    private static func readRegion(_ fd: CInt, offset: Int64, length: Int) -> ByteBuffer? {
        var buffer = allocator.buffer(capacity: length)
        var done = 0
        while done < length {
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length - done) { pointer in
                let result = pread(fd, pointer.baseAddress, length - done, off_t(offset) + off_t(done))
                return max(result, 0)
            }
            if count == 0 { return nil }
            done += count
        }
        return buffer
    }

    /// Body buffering between the socket and the consumer, in chunks.
    private static let lowWatermark = 2
    private static let highWatermark = 8

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
    private func checkTimeouts() {
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

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
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
    private func resumeDecoding(context: ChannelHandlerContext) {
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
    private func linger(_ context: ChannelHandlerContext) {
        lingering = true
        pipelinedPaused = false
        unpauseReads()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        halfClosed.futureResult.whenFailure { _ in bound.value.context?.close(promise: nil) }
        context.close(mode: .output, promise: halfClosed)
        context.eventLoop.scheduleTask(in: Self.lingerTime) { bound.value.context?.close(promise: nil) }
    }

    private func unpauseReads() {
        if pipelinedPaused { return }
        // The peer's clock starts again when we ask for its bytes again.
        if readPaused { inbound.completed(now: .now()) }
        readPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    // MARK: Requests

    private func startExchange(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        inbound.restart(now: now)
        outbound.restart(now: now)
        outboundEnqueued = 0
        exchangeCounter &+= 1
        let id = exchangeCounter
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contentLength = head.headers.first(name: "content-length").flatMap { Int64($0) }
        let chunked = head.headers.contains(name: "transfer-encoding")
        let hasBody = chunked || (contentLength ?? 0) > 0
        let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"

        var body = S3Body.empty
        var source: BodyProducer.Source?
        let collect = !chunked && (contentLength ?? 0) > 0 && (contentLength ?? 0) <= Self.collectedBodyLimit
        if hasBody && !collect {
            let produced = BodyProducer.makeSequence(
                backPressureStrategy: .init(lowWatermark: Self.lowWatermark, highWatermark: Self.highWatermark),
                finishOnDeinit: true,
                delegate: BodyProducerDelegate(handler: bound, exchange: id)
            )
            source = produced.source
            var sendContinue: (@Sendable () -> Void)?
            if expectsContinue {
                // Sent when the body is first read, so a request refused before that never
                // makes the client send its body.
                sendContinue = { @Sendable in bound.eventLoop.execute { bound.value.sendContinue(exchange: id) } }
            }
            body = S3Body(stream: ContinueOnDemandBody(producer: produced.sequence, sendContinue: sendContinue), length: contentLength)
        }
        exchange = Exchange(
            id: id, version: head.version, isHead: head.method == .HEAD,
            keepAlive: head.isKeepAlive && !draining && head.method != .CONNECT,
            source: source, expectsContinue: expectsContinue, unreadBody: chunked ? nil : (contentLength ?? 0)
        )
        exchange?.offersUpgrade = Self.offersUpgrade(head)
        if collect {
            exchange?.collected = ByteBufferAllocator().buffer(capacity: Int(contentLength!))
        }
        if expectsContinue && (!hasBody || collect) {
            // RFC 9110 lets a server skip 100 Continue when there is no body, but botocore then
            // reuses the final status it read early for later responses on the connection.
            sendContinue(exchange: id)
        }

        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var authority: String?
        var duplicateHost = false
        for (name, value) in head.headers {
            if name.utf8.count == 4, name.lowercased() == "host" {
                duplicateHost = duplicateHost || authority != nil
                authority = value
                continue
            }
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        if duplicateHost {
            // RFC 9112 §3.2: more than one Host is a 400; a proxy in front might have routed
            // on the other one.
            exchange?.source?.finish(Self.clientGone)
            writeProtocolError(S3Error(.badRequest, message: "A request must carry exactly one Host header."), context: context)
            return
        }
        if authority == nil, head.version.major == 1, head.version.minor >= 1 {
            // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
            exchange?.source?.finish(Self.clientGone)
            writeProtocolError(S3Error(.badRequest, message: "An HTTP/1.1 request must carry a Host header."), context: context)
            return
        }
        guard let method = HTTPRequest.Method(head.method.rawValue) else {
            exchange?.source?.finish(Self.clientGone)
            writeProtocolError(S3Error(.badRequest, message: "The request method is not valid."), context: context)
            return
        }
        let request = S3Request(method: method, target: head.uri, authority: authority, headers: fields, body: body)
        let requestID = environment.requestIDs.next()
        var requestContext = S3Context(
            requestID: requestID, logger: environment.logger, identity: environment.defaultIdentity,
            region: environment.region, remoteAddress: remoteAddress, isSecureTransport: environment.secure
        )
        requestContext.record = exchange?.record
        if collect {
            exchange?.deferred = (request, requestContext)
            return
        }
        launch(request, context: requestContext, exchange: id, eventLoop: context.eventLoop)
    }

    /// Whether NIO's decoder treats `head` as an upgrade offer (and stops parsing after it).
    /// CONNECT does too; it is answered (never with a tunnel) and the connection closed.
    static func offersUpgrade(_ head: HTTPRequestHead) -> Bool {
        guard head.method != .CONNECT, head.headers.contains(name: "upgrade") else { return false }
        return head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    private func launch(_ request: S3Request, context requestContext: S3Context, exchange id: UInt64, eventLoop: any EventLoop) {
        Self.launch(environment: environment, request: request, context: requestContext, exchange: id,
                    handler: NIOLoopBound(self, eventLoop: eventLoop), executor: executor)
    }

    private static func launch(environment: RequestEnvironment, request: S3Request, context: S3Context, exchange id: UInt64,
                               handler: NIOLoopBound<S3HTTPHandler>, executor: EventLoopTaskExecutor) {
        environment.inFlight.enter()
        Task(executorPreference: executor) {
            defer { environment.inFlight.leave() }
            let started = ContinuousClock.now
            let operational = environment.operations.handles(request)
            let response: S3Response
            if operational {
                response = await environment.operations.respond(to: request, secure: environment.secure)
            } else if await environment.gate.wait() {
                response = await respond(pipeline: environment.pipeline, request: request, context: context)
            } else {
                response = XMLStage.errorResponse(
                    S3Error(.serviceUnavailable, message: "The server could not open its storage."), request: request, context: context
                )
            }
            let sent = response.bodyLength(head: request.method == .head)
            await deliver(environment.secure ? FileRegionChunks.streamingFiles(response) : response,
                          requestID: context.requestID, exchange: id, handler: handler)
            finished(environment, request, context, response.status.code, sent, ContinuousClock.now - started, operational: operational)
        }
    }

    /// Counts and logs an answered request.
    private static func finished(_ environment: RequestEnvironment, _ request: S3Request, _ context: S3Context, _ status: Int,
                                 _ sent: Int64, _ duration: Duration, operational: Bool) {
        let operation = operational ? "Operations" : (context.record?.operation ?? "Unrouted")
        let received = context.record?.receivedBytes ?? 0
        environment.metrics.requestFinished(operation: operation, status: status, duration: duration, bytesIn: received, bytesOut: sent)
        guard environment.accessLog.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "request-id": "\(context.requestID)", "operation": "\(operation)", "status": "\(status)",
            "bytes-in": "\(received)", "bytes-out": "\(sent)",
            "duration-ms": "\(Double(duration.components.attoseconds / 1_000_000_000_000 + duration.components.seconds * 1_000_000) / 1000)",
        ]
        if let code = context.record?.errorCode { metadata["error"] = "\(code)" }
        if let address = context.remoteAddress { metadata["remote"] = "\(address)" }
        environment.accessLog.info("\(request.method.rawValue) \(request.rawPath) \(status)", metadata: metadata)
    }

    /// Runs the pipeline. Errors that escape every stage (a pipeline without the XML stage)
    /// still become S3 error documents.
    private static func respond(pipeline: S3Pipeline, request: S3Request, context: S3Context) async -> S3Response {
        do {
            var response = try await pipeline.handle(request, context: context)
            if case .document(let result) = response.body {
                let bytes = S3DocumentRenderer.render(result)
                response.headers[.contentType] = "application/xml"
                response.body = .bytes(bytes)
            }
            return response
        } catch {
            return XMLStage.errorResponse(S3Error.wrapping(error), request: request, context: context, underlying: error)
        }
    }

    private static func deliver(_ response: S3Response, requestID: String, exchange id: UInt64, handler: NIOLoopBound<S3HTTPHandler>) async {
        guard case .stream(let body, let length) = response.body else {
            // Usually the task already runs on the connection's loop: write at once.
            if handler.eventLoop.inEventLoop {
                handler.value.writeResponse(response, requestID: requestID, exchange: id)
            } else {
                handler.eventLoop.execute { handler.value.writeResponse(response, requestID: requestID, exchange: id) }
            }
            return
        }
        // Streamed bodies: write each chunk and wait for it, so a slow client slows the producer.
        do {
            try await handler.eventLoop.submit {
                handler.value.writeHead(response, requestID: requestID, exchange: id, length: length)
            }.get()
            for try await chunk in body {
                try await handler.eventLoop.flatSubmit {
                    handler.value.writeBodyChunk(chunk, exchange: id)
                }.get()
            }
            handler.eventLoop.execute { handler.value.writeEnd(exchange: id, fileToClose: nil) }
        } catch {
            handler.eventLoop.execute { handler.value.abortResponse(exchange: id) }
        }
    }

    // MARK: Responses

    func sendContinue(exchange id: UInt64) {
        guard var current = exchange, current.id == id, !current.continueSent, !current.responseStarted, let context else { return }
        current.continueSent = true
        exchange = current
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: current.version, status: .continue))), promise: nil)
    }

    private func writeResponse(_ response: S3Response, requestID: String, exchange id: UInt64) {
        guard let context, exchange?.id == id else {
            if case .file(let region) = response.body { region.descriptor.close() }
            return
        }
        switch response.body {
        case .empty, .document, .stream:
            writeHead(response, requestID: requestID, exchange: id, length: nil)
            writeEnd(exchange: id, fileToClose: nil)
        case .bytes(let bytes):
            writeHead(response, requestID: requestID, exchange: id, length: Int64(bytes.readableBytes))
            if exchange?.isHead == false {
                outboundEnqueued += Int64(bytes.readableBytes)
                context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
            }
            writeEnd(exchange: id, fileToClose: nil)
        case .file(let region):
            writeHead(response, requestID: requestID, exchange: id, length: region.length)
            guard exchange?.isHead == false, region.length > 0, let fd = region.descriptor.take() else {
                region.descriptor.close()
                writeEnd(exchange: id, fileToClose: nil)
                return
            }
            // Small bodies: one pread, and the head and body leave in one writev. sendfile's
            // setup costs more than the copy it saves below this size.
            if region.length <= Self.inlineFileLimit, let bytes = Self.readRegion(fd, offset: region.offset, length: Int(region.length)) {
                _ = Glibc.close(fd)
                context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
                writeEnd(exchange: id, fileToClose: nil)
                return
            }
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            var offset = Int(region.offset)
            let end = Int(region.offset + region.length)
            while offset < end {
                let sliceEnd = min(end, offset + Self.fileSlice)
                let promise = context.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenSuccess { bound.value.outbound.completed(now: .now()) }
                outboundEnqueued += Int64(sliceEnd - offset)
                context.write(wrapOutboundOut(.body(.fileRegion(FileRegion(fileHandle: handle, readerIndex: offset, endIndex: sliceEnd)))), promise: promise)
                offset = sliceEnd
            }
            writeEnd(exchange: id, fileToClose: handle)
        }
    }

    private func writeHead(_ response: S3Response, requestID: String, exchange id: UInt64, length: Int64?) {
        guard let context, var current = exchange, current.id == id else { return }
        let status = response.status.code
        let bodyless = status == 204 || status == 304 || (100..<200).contains(status)
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 7)
        // One pass: the framing headers are decided here, not taken from the response.
        var declaredLength: String?
        for field in response.headers {
            if field.name == .contentLength {
                declaredLength = field.value
                continue
            }
            if field.name == .transferEncoding { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        headers.add(name: "x-amz-request-id", value: requestID)
        headers.add(name: "x-amz-id-2", value: requestID)
        headers.add(name: "Server", value: "Stowage")
        headers.add(name: "Date", value: HTTPDateCache.current())
        if let length {
            headers.add(name: "Content-Length", value: String(length))
        } else if case .stream = response.body {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else if !bodyless {
            // A HEAD answer carries the object's length; other empty answers have length 0.
            headers.add(name: "Content-Length", value: declaredLength ?? "0")
        }

        if current.expectsContinue && !current.continueSent {
            // A final answer to an Expect request without 100 Continue: the client will not send
            // the body, and some clients (botocore) misread later responses on this connection.
            current.keepAlive = false
        }
        if !current.bodyComplete {
            // Reading gigabytes only to keep the connection is worse than a new connection
            // (S3 closes too): past a small remainder, the answer ends the connection.
            if current.unreadBody.map({ $0 > Self.drainLimit }) ?? true { current.keepAlive = false }
            if current.keepAlive { current.discardingBody = true }
            current.source?.finish()
            current.source = nil
        }
        if !current.keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if current.version.major == 1 && current.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        current.responseStarted = true
        exchange = current
        unpauseReads()

        let head = HTTPResponseHead(version: current.version, status: HTTPResponseStatus(statusCode: status, reasonPhrase: response.status.reasonPhrase), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    private func writeBodyChunk(_ chunk: ByteBuffer, exchange id: UInt64) -> EventLoopFuture<Void> {
        guard let context, let current = exchange, current.id == id else {
            return eventLoop.makeFailedFuture(ConnectionClosedError())
        }
        if current.isHead { return context.eventLoop.makeSucceededVoidFuture() }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        outboundEnqueued += Int64(chunk.readableBytes)
        let written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))))
        written.whenSuccess { bound.value.outbound.completed(now: .now()) }
        return written
    }

    private func writeEnd(exchange id: UInt64, fileToClose: NIOFileHandle?) {
        guard let context, exchange?.id == id else {
            try? fileToClose?.close()
            return
        }
        guard let fileToClose else {
            // Writes complete in order and a failed write closes the channel, so the exchange can
            // move on now; only file regions need to know when they are done (to close the file).
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            responseWritten(exchange: id, succeeded: true)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { result in
            try? fileToClose.close()
            bound.value.responseWritten(exchange: id, succeeded: (try? result.get()) != nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    private func responseWritten(exchange id: UInt64, succeeded: Bool) {
        guard let context, var current = exchange, current.id == id else { return }
        guard succeeded else {
            context.close(promise: nil)
            return
        }
        current.responseComplete = true
        exchange = current
        if current.bodyComplete || !current.keepAlive {
            finishExchange(context: context)
        }
        // Otherwise the rest of the body is being discarded; `.end` finishes the exchange.
    }

    private func finishExchange(context: ChannelHandlerContext) {
        // While draining, every connection closes after its exchange, even one whose response
        // had already started when the drain began.
        let keepAlive = (exchange?.keepAlive ?? false) && !draining
        let unreadBody = exchange.map { !$0.bodyComplete } ?? false
        exchange = nil
        idleSince = .now()
        if !keepAlive {
            pipelined.removeAll()
            pipelinedBytes = 0
            if unreadBody { linger(context) } else { context.close(promise: nil) }
            return
        }
        // Serve requests that were pipelined behind this one, up to the next unfinished exchange.
        while !pipelined.isEmpty, exchange.map({ !$0.bodyComplete }) ?? true {
            let part = pipelined.removeFirst()
            if case .body(let bytes) = part { pipelinedBytes -= bytes.readableBytes }
            handle(part, context: context)
            if let current = exchange, current.bodyComplete { break }
        }
        if pipelinedPaused, pipelined.count < Self.maxPipelinedParts / 2, pipelinedBytes < Self.maxPipelinedBytes / 2 {
            pipelinedPaused = false
            unpauseReads()
        }
    }

    private func abortResponse(exchange id: UInt64) {
        guard let context, exchange?.id == id else { return }
        // A streamed body failed after the head went out: the only honest signal is to close.
        context.close(promise: nil)
    }

    private func writeProtocolError(_ error: S3Error, context: ChannelHandlerContext) {
        let requestID = environment.requestIDs.next()
        let bytes = S3DocumentRenderer.renderError(error, requestID: requestID)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/xml")
        headers.add(name: "Content-Length", value: "\(bytes.readableBytes)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "x-amz-request-id", value: requestID)
        headers.add(name: "Date", value: HTTPDateCache.current())
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: error.status), headers: headers)
        exchange = nil
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

/// The `Date` header changes once a second; formatting it per response is waste.
enum HTTPDateCache {
    private static let cached = Mutex<(second: Int64, value: String)>((-1, ""))

    static func current() -> String {
        let now = S3Timestamp.now
        let second = now.secondsSinceEpoch
        return cached.withLock { cache in
            if cache.second != second { cache = (second, now.httpDate) }
            return cache.value
        }
    }
}
