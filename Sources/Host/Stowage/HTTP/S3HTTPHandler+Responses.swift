#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import StowageCore

/// Writing responses: heads framed by the state machine, bodies as bytes, `sendfile` file
/// regions or streams, the end of each exchange, and final error answers.
extension S3HTTPHandler: ResponseSink {
    /// File bodies go out in slices of this size, so write progress is visible to the timeouts.
    static let fileSlice = 4 * 1024 * 1024
    /// File bodies up to this size are read and sent from memory: one pread, and the head and
    /// body leave in one writev. sendfile's setup costs more than the copy it saves below this.
    static let inlineFileLimit: Int64 = 64 * 1024
    static let allocator = ByteBufferAllocator()

    func sendContinue(exchange id: UInt64) {
        guard let context, let version = machine.continueWanted(exchange: id) else { return }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .continue))), promise: nil)
    }

    func writeResponse(_ response: S3Response, requestID: String, exchange id: UInt64) {
        guard let context, machine.isCurrent(id) else {
            if case .file(let region) = response.body { region.descriptor.close() }
            return
        }
        switch response.body {
        case .empty, .document, .stream:
            writeHead(response, requestID: requestID, exchange: id, length: nil)
            writeEnd(exchange: id)
        case .bytes(let bytes):
            guard let framing = startResponse(response, requestID: requestID, exchange: id, length: Int64(bytes.readableBytes)) else { return }
            if !framing.isHead {
                machine.responseBytesEnqueued(Int64(bytes.readableBytes))
                context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
            }
            writeEnd(exchange: id)
        case .file(let region):
            guard let framing = startResponse(response, requestID: requestID, exchange: id, length: region.length) else {
                region.descriptor.close()
                return
            }
            guard !framing.isHead, region.length > 0, let fd = region.descriptor.take() else {
                region.descriptor.close()
                writeEnd(exchange: id)
                return
            }
            if region.length <= Self.inlineFileLimit,
               let bytes = PositionalRead.exactly(fd, offset: region.offset, length: Int(region.length), allocator: Self.allocator) {
                _ = Glibc.close(fd)
                context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
                writeEnd(exchange: id)
                return
            }
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
            writeFileSlices(handle, from: region.offset, length: region.length, context: context)
            writeEnd(exchange: id, fileToClose: handle)
        }
    }

    /// The file goes out in `fileSlice` slices; each completed slice is progress for the
    /// outbound timeout. `writeEnd` closes the file once the last is written.
    private func writeFileSlices(_ handle: NIOFileHandle, from start: Int64, length: Int64, context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        var offset = Int(start)
        let end = Int(start + length)
        while offset < end {
            let sliceEnd = min(end, offset + Self.fileSlice)
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenSuccess { bound.value.machine.responseWriteCompleted(now: .now()) }
            machine.responseBytesEnqueued(Int64(sliceEnd - offset))
            context.write(wrapOutboundOut(.body(.fileRegion(FileRegion(fileHandle: handle, readerIndex: offset, endIndex: sliceEnd)))), promise: promise)
            offset = sliceEnd
        }
    }

    func writeHead(_ response: S3Response, requestID: String, exchange id: UInt64, length: Int64?) {
        _ = startResponse(response, requestID: requestID, exchange: id, length: length)
    }

    /// Writes the head with the framing the state machine decides; `nil` when `id` is stale.
    private func startResponse(_ response: S3Response, requestID: String, exchange id: UInt64, length: Int64?) -> ConnectionStateMachine.ResponseFraming? {
        guard let context, let framing = machine.responseStarting(exchange: id, now: .now()) else { return nil }
        if framing.finishStream { finishSource(nil) }
        if framing.readNow { context.read() }
        context.write(wrapOutboundOut(.head(ResponseHeadWriter.head(for: response, requestID: requestID, length: length, framing: framing))), promise: nil)
        return framing
    }

    func writeBodyChunk(_ chunk: ByteBuffer, exchange id: UInt64) -> EventLoopFuture<Void> {
        guard let context, let current = machine.exchange, current.id == id else {
            return context?.eventLoop.makeFailedFuture(ConnectionClosedError()) ?? runner.executor.eventLoop.makeFailedFuture(ConnectionClosedError())
        }
        if current.isHead { return context.eventLoop.makeSucceededVoidFuture() }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        machine.responseBytesEnqueued(Int64(chunk.readableBytes))
        let written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))))
        written.whenSuccess { bound.value.machine.responseWriteCompleted(now: .now()) }
        return written
    }

    func writeEnd(exchange id: UInt64) {
        writeEnd(exchange: id, fileToClose: nil)
    }

    private func writeEnd(exchange id: UInt64, fileToClose handle: NIOFileHandle?) {
        guard let context, machine.isCurrent(id) else {
            try? handle?.close()
            return
        }
        guard let handle else {
            // Writes complete in order and a failed write closes the channel, so the exchange can
            // move on now; only file regions need to know when they are done (to close the file).
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            responseWritten(exchange: id, succeeded: true)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { result in
            try? handle.close()
            bound.value.responseWritten(exchange: id, succeeded: (try? result.get()) != nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func responseWritten(exchange id: UInt64, succeeded: Bool) {
        guard let context else { return }
        switch machine.responseWritten(exchange: id, succeeded: succeeded, now: .now()) {
        case .none: break
        case .close: context.close(promise: nil)
        case .finished(let end): finish(end, context: context)
        }
    }

    func abortResponse(exchange id: UInt64) {
        guard let context, machine.isCurrent(id) else { return }
        // A streamed body failed after the head went out: the only honest signal is to close.
        context.close(promise: nil)
    }

    /// A final S3 error answer; the connection closes once it is written.
    func writeProtocolError(_ error: S3Error, context: ChannelHandlerContext) {
        if machine.answeringWithError(now: .now()) { finishSource(Self.clientGone) }
        held = nil
        let (head, body) = ResponseHeadWriter.protocolError(error, requestID: environment.requestIDs.next())
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
