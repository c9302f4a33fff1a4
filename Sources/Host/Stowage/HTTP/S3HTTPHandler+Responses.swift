import HTTPTypes
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import StowageCore
import StowageXML
import Synchronization

/// Writing responses: heads with the framing decided here, bodies as bytes, `sendfile` file
/// regions or streams, the end of each exchange, and protocol errors answered before a request
/// could be parsed.
extension S3HTTPHandler {
    func sendContinue(exchange id: UInt64) {
        guard var current = exchange, current.id == id, !current.continueSent, !current.responseStarted, let context else { return }
        current.continueSent = true
        exchange = current
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: current.version, status: .continue))), promise: nil)
    }

    func writeResponse(_ response: S3Response, requestID: String, exchange id: UInt64) {
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
            if region.length <= Self.inlineFileLimit, let bytes = PositionalRead.exactly(fd, offset: region.offset, length: Int(region.length), allocator: Self.allocator) {
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

    func writeHead(_ response: S3Response, requestID: String, exchange id: UInt64, length: Int64?) {
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
        headers.add(name: "Date", value: HTTPDates.now())
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

    func writeBodyChunk(_ chunk: ByteBuffer, exchange id: UInt64) -> EventLoopFuture<Void> {
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

    func writeEnd(exchange id: UInt64, fileToClose: NIOFileHandle?) {
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

    func responseWritten(exchange id: UInt64, succeeded: Bool) {
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

    func finishExchange(context: ChannelHandlerContext) {
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

    func abortResponse(exchange id: UInt64) {
        guard let context, exchange?.id == id else { return }
        // A streamed body failed after the head went out: the only honest signal is to close.
        context.close(promise: nil)
    }

    func writeProtocolError(_ error: S3Error, context: ChannelHandlerContext) {
        let requestID = environment.requestIDs.next()
        let bytes = S3DocumentRenderer.renderError(error, requestID: requestID)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/xml")
        headers.add(name: "Content-Length", value: "\(bytes.readableBytes)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "x-amz-request-id", value: requestID)
        headers.add(name: "Date", value: HTTPDates.now())
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: error.status), headers: headers)
        exchange = nil
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
