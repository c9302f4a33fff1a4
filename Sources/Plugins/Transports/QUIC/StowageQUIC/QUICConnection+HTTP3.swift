internal import CNghttp3
internal import CNgtcp2
import NIOCore
import StowageCore

/// HTTP/3 on the connection (nghttp3): its control and QPACK streams, and ngtcp2's stream
/// events handed to it.
extension QUICConnection {
    /// Writes once the events queued on the loop now have run: many small changes (credit
    /// returned, bodies resumed) go out together.
    func scheduleWrite() {
        guard !writeScheduled, !isClosed else { return }
        writeScheduled = true
        onLoop { connection in
            connection.writeScheduled = false
            connection.writePackets()
        }
    }

    /// Runs `body` on the connection's event loop with the connection (from any thread).
    func onLoop(_ body: @escaping @Sendable (QUICConnection) -> Void) {
        let bound = NIOLoopBound(self, eventLoop: owner.loop)
        owner.loop.execute { body(bound.value) }
    }

    /// Creates the HTTP/3 layer once 1-RTT keys exist. False: the connection cannot go on.
    func startHTTP3() -> Bool {
        guard h3 == nil else { return true }
        guard ngtcp2_conn_get_max_local_streams_uni(conn) >= 3 else { return false }
        var callbacks = HTTP3Callbacks.table()
        var settings = nghttp3_settings()
        nghttp3_settings_default_versioned(NGHTTP3_SETTINGS_VERSION, &settings)
        settings.max_field_section_size = UInt64(Self.maxHeadBytes)
        var created: OpaquePointer?
        let result = role == .dialling
            ? nghttp3_conn_client_new_versioned(&created, NGHTTP3_CALLBACKS_VERSION, &callbacks, NGHTTP3_SETTINGS_VERSION, &settings, nil, userData)
            : nghttp3_conn_server_new_versioned(&created, NGHTTP3_CALLBACKS_VERSION, &callbacks, NGHTTP3_SETTINGS_VERSION, &settings, nil, userData)
        guard result == 0, let created else { return false }
        h3 = created
        if role == .answering, let params = ngtcp2_conn_get_local_transport_params(conn) {
            nghttp3_conn_set_max_client_streams_bidi(created, params.pointee.initial_max_streams_bidi)
        }
        var control: Int64 = -1, encoder: Int64 = -1, decoder: Int64 = -1
        guard ngtcp2_conn_open_uni_stream(conn, &control, nil) == 0, nghttp3_conn_bind_control_stream(created, control) == 0,
              ngtcp2_conn_open_uni_stream(conn, &encoder, nil) == 0, ngtcp2_conn_open_uni_stream(conn, &decoder, nil) == 0,
              nghttp3_conn_bind_qpack_streams(created, encoder, decoder) == 0
        else { return false }
        return true
    }

    /// ngtcp2's callback: the handshake finished, the peer's certificate verified against the
    /// cluster CA (GnuTLS fails the handshake otherwise). Learns its node ID; waiting requests
    /// go once the call returns. False: not one of ours (the connection ends).
    func handshakeCompleted() -> Bool {
        guard TLSSession.agreedALPN(session), learnPeer() else { return false }
        handshakeDone = true
        handshakeJustCompleted = true
        ngtcp2_conn_set_keep_alive_timeout(conn, Self.keepAlive)
        return true
    }

    /// Bytes of a stream from ngtcp2: nghttp3 parses them; the framing it consumed is credited
    /// back at once (body bytes are credited as the reader takes them).
    func streamData(_ stream: Int64, _ data: UnsafePointer<UInt8>?, _ length: Int, fin: Bool) -> Bool {
        guard let h3 else { return false }
        let consumed = nghttp3_conn_read_stream(h3, stream, data, length, fin ? 1 : 0)
        guard consumed >= 0 else { return false }
        ngtcp2_conn_extend_max_stream_offset(conn, stream, UInt64(consumed))
        ngtcp2_conn_extend_max_offset(conn, UInt64(consumed))
        return true
    }

    /// ngtcp2 closed the stream (both directions done, or reset). An answered stream's slot
    /// goes back to the peer here, once, whatever nghttp3 knew of the stream.
    func streamClosed(_ stream: Int64, code: UInt64) -> Bool {
        if role == .answering && ngtcp2_is_bidi_stream(stream) != 0 { ngtcp2_conn_extend_max_streams_bidi(conn, 1) }
        guard let h3 else { return true }
        let result = nghttp3_conn_close_stream(h3, stream, code)
        if result == NGHTTP3_ERR_STREAM_NOT_FOUND { forgetStream(stream, code: code) }
        return result == 0 || result == NGHTTP3_ERR_STREAM_NOT_FOUND
    }

    /// Nothing more arrives on the stream (the peer reset its sending side, or we stopped
    /// reading): an unfinished body fails, and nghttp3 stops expecting more.
    func noMoreInbound(_ stream: Int64) -> Bool {
        if let state = streams[stream], let inbound = state.inbound, !inbound.isComplete {
            inbound.fail(ClusterTransportError.outcomeUnknown(peer, reason: "the peer reset the stream"))
        }
        guard let h3 else { return true }
        return nghttp3_conn_shutdown_stream_read(h3, stream) == 0
    }

    /// nghttp3 is done with the stream: forget it; whatever waits on it learns how it ended.
    func forgetStream(_ stream: Int64, code: UInt64) {
        guard let state = streams.removeValue(forKey: stream) else { return }
        let clean = code == UInt64(NGHTTP3_H3_NO_ERROR)
        state.end(clean ? nil : ClusterTransportError.outcomeUnknown(peer, reason: "stream reset (H3 code \(code))"), peer: peer)
    }

    /// Body bytes that arrived on a stream (copied: nghttp3's buffer lasts only this call).
    /// The connection's credit comes back at once, so a slow reader holds up only its own
    /// stream; the stream's comes back as the reader takes the bytes.
    func bodyData(_ stream: Int64, _ data: UnsafePointer<UInt8>?, _ length: Int) {
        ngtcp2_conn_extend_max_offset(conn, UInt64(length))
        guard let state = streams[stream], let inbound = state.inbound, !inbound.isEnded, let data else {
            // Nobody will read them.
            ngtcp2_conn_extend_max_stream_offset(conn, stream, UInt64(length))
            return
        }
        state.unconsumed += length
        if state.arriving == nil {
            state.arriving = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: length))
            arriving.append(stream)
        } else {
            state.arriving!.writeBytes(UnsafeRawBufferPointer(start: data, count: length))
        }
    }

    /// Hands each stream the body bytes that arrived since the last time.
    func deliverInbound() {
        guard !arriving.isEmpty else { return }
        let streamsWithData = arriving
        arriving.removeAll(keepingCapacity: true)
        for stream in streamsWithData { deliverInbound(stream) }
    }

    func deliverInbound(_ stream: Int64) {
        guard let state = streams[stream], let bytes = state.arriving else { return }
        state.arriving = nil
        state.inbound?.append(bytes)
    }

    /// The reader of a stream's body took `count` bytes: the peer may send that many more.
    func consumed(_ stream: Int64, _ count: Int) {
        guard !isClosed, let state = streams[stream] else { return }
        let credit = Swift.min(count, state.unconsumed)
        state.unconsumed -= credit
        ngtcp2_conn_extend_max_stream_offset(conn, stream, UInt64(credit))
        scheduleWrite()
    }

    /// The reader dropped a body it had not read to the end: the peer is told to stop.
    func abandoned(_ stream: Int64) {
        guard !isClosed, streams[stream] != nil else { return }
        _ = ngtcp2_conn_shutdown_stream_read(conn, stream, UInt64(NGHTTP3_H3_REQUEST_CANCELLED))
        if let h3 { _ = nghttp3_conn_shutdown_stream_read(h3, stream) }
        scheduleWrite()
    }

    /// The pump queued body bytes (or the end) for the stream.
    func resume(_ stream: Int64) {
        guard !isClosed, let h3, streams[stream] != nil else { return }
        _ = nghttp3_conn_resume_stream(h3, stream)
        scheduleWrite()
    }

    /// Cancels a stream from our side (its body failed, its handler threw).
    func cancel(_ stream: Int64, code: UInt64) {
        guard !isClosed, streams[stream] != nil else { return }
        _ = ngtcp2_conn_shutdown_stream(conn, stream, code)
        if let h3 { _ = nghttp3_conn_shutdown_stream_read(h3, stream) }
        scheduleWrite()
    }

    /// A body of ours to send on `stream`, pumped from `body` by a task of its own; the data
    /// reader hands nghttp3 what the pump queued.
    func startPump(_ body: S3Body, on state: QUICStream) -> OutboundBody {
        let stream = state.id
        let outbound = OutboundBody(window: Int(Self.streamWindow)) { [bound = NIOLoopBound(self, eventLoop: owner.loop)] in
            bound.eventLoop.execute { bound.value.resume(stream) }
        }
        state.outbound = outbound
        let bound = NIOLoopBound(self, eventLoop: owner.loop)
        state.pump = Task {
            var iterator = body.makeAsyncIterator()
            while true {
                let chunk: ByteBuffer?
                do {
                    chunk = try await iterator.next()
                } catch {
                    // Our own body failed: the peer must not take a truncated body as whole.
                    outbound.fail(error)
                    bound.eventLoop.execute { bound.value.cancel(stream, code: UInt64(NGHTTP3_H3_REQUEST_CANCELLED)) }
                    return
                }
                guard let chunk else { break }
                // A failed write: the stream is gone or the peer stopped reading; nothing to do.
                do { try await outbound.write(chunk) } catch { return }
            }
            outbound.finish()
        }
        return outbound
    }

    /// A new inbound body for `stream`, crediting the peer as it is read, and telling it to
    /// stop when the reader drops the body unfinished.
    func inboundBody(for stream: Int64) -> InboundBody {
        let bound = NIOLoopBound(self, eventLoop: owner.loop)
        return InboundBody(
            consumed: { count in bound.eventLoop.execute { bound.value.consumed(stream, count) } },
            abandoned: { bound.eventLoop.execute { bound.value.abandoned(stream) } })
    }

    /// Calls `body` with the head as nghttp3 name-value pairs (valid during the call only;
    /// nghttp3 copies them).
    static func withHead<T>(_ head: [(String, String)], _ body: (UnsafePointer<nghttp3_nv>, Int) -> T) -> T {
        var storage: [[UInt8]] = []
        for (name, value) in head {
            storage.append(Array(name.utf8))
            storage.append(Array(value.utf8))
        }
        return storage.withUnsafeMutableBufferPointer { buffers in
            var pointers: [UnsafeMutablePointer<UInt8>] = []
            for index in buffers.indices {
                let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, buffers[index].count))
                bytes.initialize(from: buffers[index], count: buffers[index].count)
                pointers.append(bytes)
            }
            defer { pointers.forEach { $0.deallocate() } }
            let nva = (0..<head.count).map { index in
                nghttp3_nv(
                    name: pointers[2 * index], value: pointers[2 * index + 1], namelen: buffers[2 * index].count,
                    valuelen: buffers[2 * index + 1].count, flags: UInt8(NGHTTP3_NV_FLAG_NONE))
            }
            return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
