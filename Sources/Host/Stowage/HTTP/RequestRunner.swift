import HTTPTypes
import Logging
import NIOCore
import StowageCore
import StowageXML

/// Where a request's answer goes: the connection that owns the exchange. Every method is
/// called on the sink's event loop; answers for an exchange that is no longer current are
/// dropped by the sink (closing any file they carry).
protocol ResponseSink: AnyObject, SendableMetatype {
    /// A whole response (bytes, a file region, or no body).
    func writeResponse(_ response: S3Response, requestID: String, exchange: UInt64)
    /// The head of a streamed response; `length` when known, else the body is chunked.
    func writeHead(_ response: S3Response, requestID: String, exchange: UInt64, length: Int64?)
    /// One chunk of a streamed body; the future completes when it is written, so a slow
    /// client slows the producer.
    func writeBodyChunk(_ chunk: ByteBuffer, exchange: UInt64) -> EventLoopFuture<Void>
    func writeEnd(exchange: UInt64)
    /// A streamed body failed after its head went out.
    func abortResponse(exchange: UInt64)
}

/// Runs requests: launch (a task on the connection's event loop), respond (operations
/// endpoints, the startup gate, the pipeline; errors become S3 error documents), deliver (to a
/// `ResponseSink`), finish (metrics and the access log). Independent of HTTP/1.1, so another
/// front end (HTTP/3, the console) runs requests the same way.
///
/// ```swift
/// let runner = RequestRunner(environment: environment, eventLoop: channel.eventLoop)
/// runner.launch(request, context: context, exchange: 1, sink: NIOLoopBound(handler, eventLoop: channel.eventLoop))
/// ```
struct RequestRunner: Sendable {
    let environment: RequestEnvironment
    let executor: EventLoopTaskExecutor

    init(environment: RequestEnvironment, eventLoop: any EventLoop) {
        self.environment = environment
        self.executor = EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    func launch<Sink: ResponseSink>(_ request: S3Request, context: S3Context, exchange id: UInt64, sink: NIOLoopBound<Sink>) {
        let environment = self.environment
        environment.inFlight.enter()
        // A task enqueued on the loop, not `Task.immediate`: starting it inside the read that
        // brought the request measured about 15% more CPU per small GET on this machine.
        Task(executorPreference: executor) {
            defer { environment.inFlight.leave() }
            let started = ContinuousClock.now
            let operational = environment.operations.handles(request)
            let response: S3Response
            if operational {
                response = await environment.operations.respond(to: request, secure: environment.secure)
            } else if await environment.gate.wait() {
                response = await Self.respond(pipeline: environment.pipeline, request: request, context: context)
            } else {
                response = XMLStage.errorResponse(
                    S3Error(.serviceUnavailable, message: "The server could not open its storage."), request: request, context: context
                )
            }
            let sent = response.bodyLength(head: request.method == .head)
            await Self.deliver(environment.secure ? FileRegionChunks.streamingFiles(response) : response,
                               requestID: context.requestID, exchange: id, sink: sink)
            Self.finished(environment, request, context, response.status.code, sent, ContinuousClock.now - started, operational: operational)
        }
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

    static func deliver<Sink: ResponseSink>(_ response: S3Response, requestID: String, exchange id: UInt64, sink: NIOLoopBound<Sink>) async {
        guard case .stream(let body, let length) = response.body else {
            // Usually the task already runs on the connection's loop: write at once.
            if sink.eventLoop.inEventLoop {
                sink.value.writeResponse(response, requestID: requestID, exchange: id)
            } else {
                sink.eventLoop.execute { sink.value.writeResponse(response, requestID: requestID, exchange: id) }
            }
            return
        }
        // Streamed bodies: write each chunk and wait for it, so a slow client slows the producer.
        do {
            try await sink.eventLoop.submit {
                sink.value.writeHead(response, requestID: requestID, exchange: id, length: length)
            }.get()
            for try await chunk in body {
                try await sink.eventLoop.flatSubmit {
                    sink.value.writeBodyChunk(chunk, exchange: id)
                }.get()
            }
            sink.eventLoop.execute { sink.value.writeEnd(exchange: id) }
        } catch {
            sink.eventLoop.execute { sink.value.abortResponse(exchange: id) }
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
}
