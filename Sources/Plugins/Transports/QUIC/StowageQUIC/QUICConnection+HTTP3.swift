internal import CNghttp3
internal import CNgtcp2
import NIOCore
import StowageCore

/// HTTP/3 on the connection (nghttp3): its control and QPACK streams, and ngtcp2's stream
/// events handed to it.
extension QUICConnection {
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

    /// The handshake finished: the peer's certificate was verified against the cluster CA
    /// (GnuTLS failed the handshake otherwise); its node ID is now known, and waiting
    /// requests go.
    func handshakeCompleted() {
        guard TLSSession.agreedALPN(session), learnPeer() else {
            return fail(library: "the peer is not a Stowage node of this cluster", code: Int(NGTCP2_ERR_CALLBACK_FAILURE))
        }
        handshakeDone = true
        openWaiting()
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

    /// ngtcp2 closed the stream (both directions done, or reset).
    func streamClosed(_ stream: Int64, code: UInt64) -> Bool {
        guard let h3 else { return true }
        let result = nghttp3_conn_close_stream(h3, stream, code)
        if result == NGHTTP3_ERR_STREAM_NOT_FOUND {
            if role == .answering && ngtcp2_is_bidi_stream(stream) != 0 { ngtcp2_conn_extend_max_streams_bidi(conn, 1) }
            return true
        }
        return result == 0
    }

    /// The peer reset its sending side of the stream or asked us to stop sending.
    func streamResetByPeer(_ stream: Int64) -> Bool {
        if let state = streams[stream], let inbound = state.inbound, !inbound.isComplete {
            inbound.fail(ClusterTransportError.outcomeUnknown(peer, reason: "the peer reset the stream"))
        }
        guard let h3 else { return true }
        return nghttp3_conn_shutdown_stream_read(h3, stream) == 0
    }

    /// nghttp3 is done with the stream: forget it, return its unconsumed credit to the
    /// connection, and give an answered stream's slot back to the peer.
    func forgetStream(_ stream: Int64, code: UInt64) {
        guard let state = streams.removeValue(forKey: stream) else { return }
        if state.unconsumed > 0 { ngtcp2_conn_extend_max_offset(conn, UInt64(state.unconsumed)) }
        let clean = code == UInt64(NGHTTP3_H3_NO_ERROR)
        state.end(clean ? nil : ClusterTransportError.outcomeUnknown(peer, reason: "stream reset (H3 code \(code))"), peer: peer)
        if role == .answering && ngtcp2_is_bidi_stream(stream) != 0 { ngtcp2_conn_extend_max_streams_bidi(conn, 1) }
    }

    /// Body bytes that arrived on a stream (copied: nghttp3's buffer lasts only this call).
    func bodyData(_ stream: Int64, _ data: UnsafePointer<UInt8>?, _ length: Int) {
        guard let state = streams[stream], let inbound = state.inbound, let data else {
            // Nobody will read them: credit them back now.
            ngtcp2_conn_extend_max_stream_offset(conn, stream, UInt64(length))
            ngtcp2_conn_extend_max_offset(conn, UInt64(length))
            return
        }
        state.unconsumed += length
        inbound.append(ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: length)))
    }

    /// The reader of a stream's body took `count` bytes: the peer may send that many more.
    func consumed(_ stream: Int64, _ count: Int) {
        guard !isClosed, let state = streams[stream] else { return }
        let credit = Swift.min(count, state.unconsumed)
        state.unconsumed -= credit
        ngtcp2_conn_extend_max_stream_offset(conn, stream, UInt64(credit))
        ngtcp2_conn_extend_max_offset(conn, UInt64(credit))
        writePackets()
    }

    /// The pump queued body bytes (or the end) for the stream.
    func resume(_ stream: Int64) {
        guard !isClosed, let h3, streams[stream] != nil else { return }
        _ = nghttp3_conn_resume_stream(h3, stream)
        writePackets()
    }

    /// Cancels a stream from our side (its body failed, its handler threw).
    func cancel(_ stream: Int64, code: UInt64) {
        guard !isClosed, streams[stream] != nil else { return }
        _ = ngtcp2_conn_shutdown_stream(conn, stream, code)
        if let h3 { _ = nghttp3_conn_shutdown_stream_read(h3, stream) }
        writePackets()
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
            do {
                for try await chunk in body { try await outbound.write(chunk) }
                outbound.finish()
            } catch {
                outbound.fail(error)
                bound.eventLoop.execute { bound.value.cancel(stream, code: UInt64(NGHTTP3_H3_REQUEST_CANCELLED)) }
            }
        }
        return outbound
    }

    /// A new inbound body for `stream`, crediting the peer as it is read.
    func inboundBody(for stream: Int64) -> InboundBody {
        let bound = NIOLoopBound(self, eventLoop: owner.loop)
        return InboundBody { count in bound.eventLoop.execute { bound.value.consumed(stream, count) } }
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
