internal import CNghttp3
internal import CNgtcp2
import HTTPTypes
import NIOCore
import StowageCore

/// Requests and responses on a connection: the dialling side sends requests and resolves
/// their responses; the answering side hands requests to the handler and sends back what it
/// returns.
extension QUICConnection {
    // MARK: Dialling side

    /// Sends `request` once the handshake is done and the peer allows another stream.
    func submit(_ request: ClusterRequest, promise: EventLoopPromise<ClusterResponse>) {
        guard !isClosed else {
            promise.fail(ClusterTransportError.notDelivered(peer, reason: "connection closed: \(failure ?? "")"))
            return
        }
        waiting.append((request, promise))
        if handshakeDone { openWaiting() }
    }

    /// Opens a stream for each waiting request while the peer grants streams.
    func openWaiting() {
        guard handshakeDone, !isClosed, let h3 else { return }
        while let next = waiting.first {
            var stream: Int64 = -1
            let opened = ngtcp2_conn_open_bidi_stream(conn, &stream, nil)
            if opened == NGTCP2_ERR_STREAM_ID_BLOCKED { break }
            waiting.removeFirst()
            guard opened == 0 else {
                next.promise.fail(ClusterTransportError.notDelivered(peer, reason: "no stream: \(opened)"))
                continue
            }
            let state = QUICStream(id: stream)
            state.response = next.promise
            state.inbound = inboundBody(for: stream)
            streams[stream] = state
            let head = HTTP3Head.request(next.request, authority: peer.rawValue)
            let submitted: Int32
            if next.request.body.declaredLength == 0 {
                submitted = Self.withHead(head) { nghttp3_conn_submit_request(h3, stream, $0, $1, nil, nil) }
            } else {
                _ = startPump(next.request.body, on: state)
                var reader = HTTP3Callbacks.reader()
                submitted = Self.withHead(head) { nghttp3_conn_submit_request(h3, stream, $0, $1, &reader, nil) }
            }
            if submitted != 0 {
                streams[stream] = nil
                state.end(ClusterTransportError.notDelivered(peer, reason: "nghttp3_conn_submit_request: \(submitted)"), peer: peer)
                _ = ngtcp2_conn_shutdown_stream(conn, stream, UInt64(NGHTTP3_H3_INTERNAL_ERROR))
            }
        }
        writePackets()
    }

    /// The sender gave up on the request whose response `future` is: if it is still waiting it
    /// was never delivered; if it is on a stream, the stream is reset.
    func abandon(_ future: EventLoopFuture<ClusterResponse>) {
        if let index = waiting.firstIndex(where: { $0.promise.futureResult === future }) {
            waiting.remove(at: index).promise.fail(ClusterTransportError.notDelivered(peer, reason: "cancelled before it was sent"))
            return
        }
        guard let (stream, state) = streams.first(where: { $0.value.response?.futureResult === future }) else { return }
        state.end(CancellationError(), peer: peer)
        cancel(stream, code: UInt64(NGHTTP3_H3_REQUEST_CANCELLED))
    }

    // MARK: Both sides

    func headBegins(_ stream: Int64) {
        guard role == .answering, streams[stream] == nil else { return }
        let state = QUICStream(id: stream)
        state.inbound = inboundBody(for: stream)
        streams[stream] = state
    }

    func headEnds(_ stream: Int64, fin: Bool) {
        guard let state = streams[stream], !state.headDone else { return }
        state.headDone = true
        let head = state.head
        state.head = []
        switch role {
        case .dialling: responseArrived(state, head, fin: fin)
        case .answering: requestArrived(state, head, fin: fin)
        }
    }

    private func responseArrived(_ state: QUICStream, _ head: [(name: String, value: String)], fin: Bool) {
        guard let promise = state.response, let inbound = state.inbound else { return }
        state.response = nil
        guard !state.headTooLarge, let parsed = HTTP3Head.parseResponse(head) else {
            promise.fail(ClusterTransportError.outcomeUnknown(peer, reason: "an unreadable response head"))
            cancel(state.id, code: UInt64(NGHTTP3_H3_MESSAGE_ERROR))
            return
        }
        if fin { inbound.finish() }
        let body = parsed.length == 0 && fin ? S3Body.empty : S3Body(
                stream: OutcomeUnknownOnFailure(base: S3Body(stream: inbound.reader(), length: parsed.length), peer: peer, passingCancellation: true),
                length: parsed.length)
        promise.succeed(ClusterResponse(status: parsed.status, fields: parsed.fields, body: body))
    }

    // MARK: Answering side

    private func requestArrived(_ state: QUICStream, _ head: [(name: String, value: String)], fin: Bool) {
        guard !state.headTooLarge, let parsed = HTTP3Head.parseRequest(head), let inbound = state.inbound else {
            cancel(state.id, code: UInt64(NGHTTP3_H3_MESSAGE_ERROR))
            return
        }
        if fin { inbound.finish() }
        let request = ClusterRequest(
            verb: parsed.verb, resource: parsed.resource, fields: parsed.fields,
            body: parsed.length == 0 && fin ? .empty : S3Body(stream: inbound.reader(), length: parsed.length))
        guard let handler = isAnonymous ? owner.joinHandler : owner.handler else {
            cancel(state.id, code: UInt64(NGHTTP3_H3_REQUEST_REJECTED))
            return
        }
        let peer = self.peer
        let stream = state.id
        let bound = NIOLoopBound(self, eventLoop: owner.loop)
        state.handling = Task {
            do {
                let response = try await handler.handle(request, from: peer)
                bound.eventLoop.execute { bound.value.respond(stream, response) }
            } catch {
                // The handler may have applied part of it: the sender learns "outcome unknown".
                bound.eventLoop.execute { bound.value.cancel(stream, code: UInt64(NGHTTP3_H3_INTERNAL_ERROR)) }
            }
        }
    }

    private func respond(_ stream: Int64, _ response: ClusterResponse) {
        guard !isClosed, let h3, let state = streams[stream] else { return }
        let head = HTTP3Head.response(response)
        let submitted: Int32
        if response.body.declaredLength == 0 {
            submitted = Self.withHead(head) { nghttp3_conn_submit_response(h3, stream, $0, $1, nil) }
            stopReadingIfUnfinished(stream)
        } else {
            let outbound = startPump(response.body, on: state)
            let bound = NIOLoopBound(self, eventLoop: owner.loop)
            // Once the whole response is queued, a request body nobody read is refused.
            Task { [pump = state.pump] in
                await pump?.value
                if outbound.isFinished { bound.eventLoop.execute { bound.value.stopReadingIfUnfinished(stream) } }
            }
            var reader = HTTP3Callbacks.reader()
            submitted = Self.withHead(head) { nghttp3_conn_submit_response(h3, stream, $0, $1, &reader) }
        }
        if submitted != 0 { cancel(stream, code: UInt64(NGHTTP3_H3_INTERNAL_ERROR)) }
        writePackets()
    }

    /// The response is out: if the handler left the request body unread, the sender is told to
    /// stop (its pump fails instead of waiting for credit that never comes).
    func stopReadingIfUnfinished(_ stream: Int64) {
        guard !isClosed, let state = streams[stream], let inbound = state.inbound, !inbound.isComplete else { return }
        _ = ngtcp2_conn_shutdown_stream_read(conn, stream, UInt64(NGHTTP3_H3_NO_ERROR))
        writePackets()
    }
}
