internal import CGnuTLS
internal import CNghttp3
internal import CNgtcp2
import NIOCore
import StowageCore

/// How a connection ends: a fatal error (told to the peer unless the peer closed it), or a
/// polite close; then every stream and waiting request learns why, and the C state goes.
extension QUICConnection {
    /// A fatal error: tells the peer (unless it is the peer who closed), and tears down.
    func fail(library call: String, code: Int) {
        guard !isClosed else { return }
        let reason: String
        if [NGTCP2_ERR_DRAINING, NGTCP2_ERR_IDLE_CLOSE, NGTCP2_ERR_CLOSING, NGTCP2_ERR_DROP_CONN].contains(Int32(code)) {
            reason = code == Int(NGTCP2_ERR_IDLE_CLOSE) ? "idle" : "closed by the peer"
        } else if code == Int(NGTCP2_ERR_CRYPTO), let conn {
            let alert = ngtcp2_conn_get_tls_alert(conn)
            let verify = session.map { gnutls_session_get_verify_cert_status($0) } ?? 0
            let name = gnutls_alert_get_name(gnutls_alert_description_t(UInt32(alert))).map { String(cString: $0) } ?? "?"
            reason = "TLS failed: alert \(alert) (\(name)), certificate status \(verify)"
            sendConnectionClose(code: code)
        } else {
            reason = "\(call): \(String(cString: ngtcp2_strerror(Int32(code))))"
            sendConnectionClose(code: code)
        }
        teardown(reason)
    }

    /// Forgets the connection without a word to the peer (a process killed, in tests).
    func drop() {
        guard !isClosed else { return }
        teardown("dropped")
    }

    /// Closes the connection politely (no error).
    func close() {
        guard !isClosed else { return }
        sendConnectionClose(code: 0)
        teardown("closed")
    }

    func sendConnectionClose(code: Int) {
        guard let conn, ngtcp2_conn_is_in_closing_period(conn) == 0, ngtcp2_conn_is_in_draining_period(conn) == 0 else { return }
        var error = ngtcp2_connection_close_error()
        ngtcp2_connection_close_error_default(&error)
        if code != 0 { ngtcp2_connection_close_error_set_transport_error_liberr(&error, Int32(code), nil, 0) }
        var info = ngtcp2_pkt_info()
        let written = ngtcp2_conn_write_connection_close_versioned(
            conn, nil, NGTCP2_PKT_INFO_VERSION, &info, packet.baseAddress!.assumingMemoryBound(to: UInt8.self), packet.count, &error, Self.now())
        if written > 0 {
            owner.send(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: packet[0..<Int(written)])), segment: nil, to: remote)
            owner.flush()
        }
    }

    /// Ends every stream and waiting request, stops routing, and frees the C state once the
    /// current call into the libraries has returned.
    func teardown(_ reason: String) {
        isClosed = true
        failure = reason
        timer?.cancel()
        timer = nil
        let lost = ClusterTransportError.outcomeUnknown(peer, reason: "connection lost: \(reason)")
        for stream in streams.values { stream.end(lost, peer: peer) }
        streams.removeAll()
        let undelivered = ClusterTransportError.notDelivered(peer, reason: "connection failed: \(reason)")
        for item in waiting { item.promise.fail(undelivered) }
        waiting.removeAll()
        for cid in ownCIDs { owner.route(cid, to: nil) }
        ownCIDs.removeAll()
        owner.closed(self)
        onLoop { $0.freeLibraries() }
    }

    /// After the last call into the libraries has returned (nghttp3 before ngtcp2).
    fileprivate func freeLibraries() {
        if let h3 { nghttp3_conn_del(h3) }
        h3 = nil
        if let conn { ngtcp2_conn_del(conn) }
        conn = nil
        if let session { gnutls_deinit(session) }
        session = nil
    }
}

enum QUICError: Error, CustomStringConvertible {
    case library(String, Int)
    case handshake(String)

    var description: String {
        switch self {
        case .library(let call, let code): "\(call) failed (\(code))"
        case .handshake(let reason): "handshake failed: \(reason)"
        }
    }
}
