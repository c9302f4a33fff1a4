import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import StowageCore
import StowageXML

/// Starting an exchange: the request head becomes an `S3Request` with its body stream, and the
/// pipeline runs in a task on the connection's event loop; its response comes back to be written.
extension S3HTTPHandler {
    func startExchange(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
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

    func launch(_ request: S3Request, context requestContext: S3Context, exchange id: UInt64, eventLoop: any EventLoop) {
        Self.launch(environment: environment, request: request, context: requestContext, exchange: id,
                    handler: NIOLoopBound(self, eventLoop: eventLoop), executor: executor)
    }

    static func launch(environment: RequestEnvironment, request: S3Request, context: S3Context, exchange id: UInt64,
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
    static func finished(_ environment: RequestEnvironment, _ request: S3Request, _ context: S3Context, _ status: Int,
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
    static func respond(pipeline: S3Pipeline, request: S3Request, context: S3Context) async -> S3Response {
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

    static func deliver(_ response: S3Response, requestID: String, exchange id: UInt64, handler: NIOLoopBound<S3HTTPHandler>) async {
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
}
