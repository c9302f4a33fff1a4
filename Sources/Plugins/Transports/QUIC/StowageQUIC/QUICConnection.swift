internal import CGnuTLS
internal import CNghttp3
internal import CNgtcp2
import Foundation
import NIOCore
import StowageCore

/// What a connection needs from the endpoint that owns its socket.
protocol QUICConnectionOwner: AnyObject {
    var loop: any EventLoop { get }
    var credentials: TLSCredentials { get }
    var localAddress: SocketAddress { get }
    /// Sends one datagram, or with `segment` several of that size back to back (the last may
    /// be shorter) that the kernel splits (GSO); written now, flushed by `flush`.
    func send(_ datagram: ByteBuffer, segment: Int?, to address: SocketAddress)
    /// Whether one send may carry several packets (UDP GSO).
    var segmentation: Bool { get }
    func flush()
    /// Routes datagrams for `cid` to the connection (or stops routing them).
    func route(_ cid: [UInt8], to connection: QUICConnection?)
    /// The connection is gone: forget it.
    func closed(_ connection: QUICConnection)
    /// Answering side: who answers the requests that arrive.
    var handler: any ClusterRequestHandler { get }
    /// Answering side: who answers the requests of a client without a certificate (a
    /// process joining with a token); nil refuses such clients.
    var joinHandler: (any ClusterRequestHandler)? { get }
    /// Answering side: whether a client without a certificate may connect now (counted).
    func admitAnonymous(_ connection: QUICConnection) -> Bool
}

/// One QUIC connection (ngtcp2 + GnuTLS) carrying HTTP/3 (nghttp3), confined to its
/// endpoint's event loop: every ngtcp2, nghttp3 and GnuTLS call for it happens there, and the
/// C libraries keep pointers to this object (as user data) and to memory it owns, which stays
/// put until `teardown`.
final class QUICConnection {
    enum Role { case dialling, answering }

    let role: Role
    unowned let owner: any QUICConnectionOwner
    let remote: SocketAddress
    /// The peer: dialling side, the node we meant (its certificate must name it); answering
    /// side, what the verified certificate names, known once the handshake completes.
    private(set) var peer: NodeID

    var conn: OpaquePointer!
    var session: gnutls_session_t!
    var h3: OpaquePointer?
    let connRef: UnsafeMutablePointer<ngtcp2_crypto_conn_ref>
    let path: UnsafeMutablePointer<ngtcp2_path_storage>
    let packet: UnsafeMutableRawBufferPointer
    /// The name the peer's certificate must carry, as a C string GnuTLS points at.
    let expectedName: UnsafeMutablePointer<CChar>?
    var streams: [Int64: QUICStream] = [:]
    /// Streams with body bytes not yet handed to their reader (``deliverInbound()``).
    var arriving: [Int64] = []
    /// Dialling side: requests waiting for the handshake or for stream credit.
    var waiting: [(request: ClusterRequest, promise: EventLoopPromise<ClusterResponse>)] = []
    var handshakeDone = false
    /// Answering side: the client presented no certificate; its requests go to the join
    /// handler only.
    private(set) var isAnonymous = false
    /// Set inside ngtcp2's callback; acted on once the call that ran it returns.
    var handshakeJustCompleted = false
    /// True while ngtcp2 runs our callbacks (read_pkt, handle_expiry): nothing may write
    /// packets then; the caller writes once the call returns.
    var dispatching = false
    /// A write is queued on the loop (``scheduleWrite()``).
    var writeScheduled = false
    /// Set inside ngtcp2's callback: the peer allowed more streams.
    var streamCreditArrived = false
    var isClosed = false
    var failure: String?
    var timer: Scheduled<Void>?
    private var timerDeadline: UInt64 = .max
    /// Our connection IDs, routed to us by the owner.
    var ownCIDs: Set<[UInt8]> = []

    static let streamWindow: UInt64 = 1 << 20
    static let connectionWindow: UInt64 = 16 << 20
    static let maxStreams: UInt64 = 1_024
    /// A peer silent this long (no packet, not even the keep-alive's ack) is gone: its
    /// requests in flight learn "outcome unknown". Heartbeats usually tell sooner.
    static let idleTimeout: UInt64 = 10_000_000_000
    static let handshakeTimeout: UInt64 = 5_000_000_000
    /// An idle connection sends a PING this often, so it outlives the idle timeout.
    static let keepAlive: UInt64 = 2_000_000_000
    /// The most header bytes one head may carry (a peer cannot grow a head without bound).
    static let maxHeadBytes = 64 << 10

    var userData: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> QUICConnection {
        Unmanaged<QUICConnection>.fromOpaque(pointer!).takeUnretainedValue()
    }

    private init(role: Role, owner: any QUICConnectionOwner, remote: SocketAddress, peer: NodeID) {
        self.role = role
        self.owner = owner
        self.remote = remote
        self.peer = peer
        connRef = .allocate(capacity: 1)
        path = .allocate(capacity: 1)
        packet = .allocate(byteCount: 65_536, alignment: 8)
        expectedName = role == .dialling ? strdup(peer.rawValue) : nil
        connRef.initialize(to: ngtcp2_crypto_conn_ref(get_conn: { ref in
            QUICConnection.from(ref!.pointee.user_data).conn
        }, user_data: nil))
        connRef.pointee.user_data = userData
        owner.localAddress.withSockAddr { local, localLength in
            remote.withSockAddr { peerAddress, peerLength in
                ngtcp2_path_storage_init(path, local, ngtcp2_socklen(localLength), peerAddress, ngtcp2_socklen(peerLength), nil)
            }
        }
    }

    deinit {
        connRef.deallocate()
        path.deallocate()
        packet.deallocate()
        free(expectedName)
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    static func randomCID(_ length: Int = 16) -> ngtcp2_cid {
        var bytes = [UInt8](repeating: 0, count: length)
        _ = gnutls_rnd(GNUTLS_RND_RANDOM, &bytes, length)
        var cid = ngtcp2_cid()
        ngtcp2_cid_init(&cid, bytes, length)
        return cid
    }

    /// The stateless-reset token of one of our connection IDs (``TLSCredentials/resetSecret``).
    static func resetToken(for cid: ngtcp2_cid, secret: [UInt8], into token: UnsafeMutablePointer<UInt8>) {
        var cid = cid
        _ = ngtcp2_crypto_generate_stateless_reset_token(token, secret, secret.count, &cid)
    }

    static func bytes(of cid: ngtcp2_cid) -> [UInt8] {
        withUnsafeBytes(of: cid.data) { Array($0.prefix(cid.datalen)) }
    }

    private func settings() -> ngtcp2_settings {
        var settings = ngtcp2_settings()
        ngtcp2_settings_default_versioned(NGTCP2_SETTINGS_VERSION, &settings)
        settings.initial_ts = Self.now()
        settings.cc_algo = NGTCP2_CC_ALGO_BBR
        settings.max_stream_window = 4 * Self.streamWindow
        settings.max_window = 4 * Self.connectionWindow
        settings.handshake_timeout = Self.handshakeTimeout
        return settings
    }

    private func transportParameters() -> ngtcp2_transport_params {
        var params = ngtcp2_transport_params()
        ngtcp2_transport_params_default_versioned(NGTCP2_TRANSPORT_PARAMS_VERSION, &params)
        params.initial_max_stream_data_bidi_local = Self.streamWindow
        params.initial_max_stream_data_bidi_remote = Self.streamWindow
        params.initial_max_stream_data_uni = Self.streamWindow
        params.initial_max_data = Self.connectionWindow
        // Requests go one way: only the dialling side opens bidirectional streams.
        params.initial_max_streams_bidi = role == .answering ? Self.maxStreams : 0
        params.initial_max_streams_uni = 3
        params.max_idle_timeout = Self.idleTimeout
        return params
    }

    /// Dials `remote`, expecting the node `peer` there.
    static func dial(_ peer: NodeID, at remote: SocketAddress, owner: any QUICConnectionOwner) throws -> QUICConnection {
        let connection = QUICConnection(role: .dialling, owner: owner, remote: remote, peer: peer)
        var dcid = randomCID(18)
        var scid = randomCID()
        var settings = connection.settings()
        var params = connection.transportParameters()
        var callbacks = QUICCallbacks.table(dialling: true)
        var conn: OpaquePointer?
        let created = ngtcp2_conn_client_new_versioned(
            &conn, &dcid, &scid, &connection.path.pointee.path, 1, NGTCP2_CALLBACKS_VERSION, &callbacks,
            NGTCP2_SETTINGS_VERSION, &settings, NGTCP2_TRANSPORT_PARAMS_VERSION, &params, nil, connection.userData)
        guard created == 0, let conn else { throw QUICError.library("ngtcp2_conn_client_new", Int(created)) }
        connection.conn = conn
        do {
            connection.session = try TLSSession.make(server: false, peer: connection.expectedName, credentials: owner.credentials, connRef: connection.connRef)
        } catch {
            ngtcp2_conn_del(conn)
            throw error
        }
        ngtcp2_conn_set_tls_native_handle(conn, UnsafeMutableRawPointer(connection.session))
        connection.adopt(bytes(of: scid))
        return connection
    }

    /// Answers a client's first Initial packet (`packet`, already accepted by `ngtcp2_accept`).
    static func answer(_ header: ngtcp2_pkt_hd, from remote: SocketAddress, owner: any QUICConnectionOwner) throws -> QUICConnection {
        let connection = QUICConnection(role: .answering, owner: owner, remote: remote, peer: NodeID("unauthenticated"))
        var header = header
        var scid = randomCID()
        var settings = connection.settings()
        var params = connection.transportParameters()
        params.original_dcid = header.dcid
        params.stateless_reset_token_present = 1
        withUnsafeMutableBytes(of: &params.stateless_reset_token) {
            resetToken(for: scid, secret: owner.credentials.resetSecret, into: $0.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        var callbacks = QUICCallbacks.table(dialling: false)
        var conn: OpaquePointer?
        let created = ngtcp2_conn_server_new_versioned(
            &conn, &header.scid, &scid, &connection.path.pointee.path, header.version, NGTCP2_CALLBACKS_VERSION, &callbacks,
            NGTCP2_SETTINGS_VERSION, &settings, NGTCP2_TRANSPORT_PARAMS_VERSION, &params, nil, connection.userData)
        guard created == 0, let conn else { throw QUICError.library("ngtcp2_conn_server_new", Int(created)) }
        connection.conn = conn
        do {
            connection.session = try TLSSession.make(server: true, peer: nil, credentials: owner.credentials, connRef: connection.connRef)
        } catch {
            ngtcp2_conn_del(conn)
            throw error
        }
        ngtcp2_conn_set_tls_native_handle(conn, UnsafeMutableRawPointer(connection.session))
        connection.adopt(bytes(of: scid))
        // Retransmitted Initials still carry the DCID the client chose.
        connection.adopt(bytes(of: header.dcid))
        return connection
    }

    func adopt(_ cid: [UInt8]) {
        ownCIDs.insert(cid)
        owner.route(cid, to: self)
    }

    func forget(_ cid: [UInt8]) {
        ownCIDs.remove(cid)
        owner.route(cid, to: nil)
    }

    // MARK: Packets in, packets out, timers

    /// One datagram from the peer.
    func receive(_ datagram: ByteBuffer) {
        guard !isClosed else { return }
        var info = ngtcp2_pkt_info()
        dispatching = true
        let result = datagram.withUnsafeReadableBytes { bytes in
            ngtcp2_conn_read_pkt_versioned(
                conn, &path.pointee.path, NGTCP2_PKT_INFO_VERSION, &info,
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, Self.now())
        }
        dispatching = false
        guard result == 0 else {
            fail(library: "ngtcp2_conn_read_pkt", code: Int(result))
            return
        }
        afterCallbacks()
        // The endpoint writes once the whole batch of datagrams it read is in.
    }

    /// Work that ngtcp2's callbacks asked for but may not do inside them.
    func afterCallbacks() {
        if handshakeJustCompleted {
            handshakeJustCompleted = false
            openWaiting()
        }
        if streamCreditArrived {
            streamCreditArrived = false
            openWaiting()
        }
    }

    /// Sends what ngtcp2 and nghttp3 have for the peer, up to the congestion controller's
    /// quantum, then re-arms the timer from ngtcp2's expiry.
    func writePackets() {
        guard !isClosed, !dispatching, let conn else { return }
        deliverInbound()
        let now = Self.now()
        let payload = max(1, ngtcp2_conn_get_max_tx_udp_payload_size(conn))
        // At least one full GSO run (~64 KB) per call: the pacer's quantum alone (10 packets at
        // times) left a connection waiting on timer wake-ups, a few hundred µs each on a busy
        // machine (1 MiB answers took ~10 ms between three nodes); the congestion window
        // still bounds what is in flight, and pacing still spaces the calls.
        let limit = max(PacketBatch.maxRunBytes, ngtcp2_conn_get_send_quantum(conn)) / payload
        var sent = 0
        var vectors = [nghttp3_vec](repeating: nghttp3_vec(), count: 16)
        // Packets are written back to back into `packet`; a run of equal sizes (the last may be
        // shorter) goes out as one GSO send.
        var batch = PacketBatch(segmentation: owner.segmentation)
        while sent < limit {
            if !batch.fits(payload, capacity: packet.count) { send(batch.finish()) }
            var streamID: Int64 = -1
            var fin: Int32 = 0
            var count = 0
            if let h3, ngtcp2_conn_get_max_data_left(conn) > 0 {
                let produced = nghttp3_conn_writev_stream(h3, &streamID, &fin, &vectors, vectors.count)
                guard produced >= 0 else { return fail(library: "nghttp3_conn_writev_stream", code: Int(produced)) }
                count = Int(produced)
            }
            var flags = UInt32(NGTCP2_WRITE_STREAM_FLAG_MORE)
            if fin != 0 { flags |= UInt32(NGTCP2_WRITE_STREAM_FLAG_FIN) }
            var accepted: ngtcp2_ssize = -1
            var info = ngtcp2_pkt_info()
            let written = vectors.withUnsafeBufferPointer { vectors in
                vectors.baseAddress!.withMemoryRebound(to: ngtcp2_vec.self, capacity: vectors.count) { vecs in
                    ngtcp2_conn_writev_stream_versioned(
                        conn, nil, NGTCP2_PKT_INFO_VERSION, &info, (packet.baseAddress! + batch.end).assumingMemoryBound(to: UInt8.self),
                        payload, &accepted, flags, streamID, count > 0 ? vecs : nil, count, now)
                }
            }
            if written < 0 {
                switch Int32(written) {
                case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                    if let h3 { nghttp3_conn_block_stream(h3, streamID) }
                    continue
                case NGTCP2_ERR_STREAM_SHUT_WR:
                    if let h3 { nghttp3_conn_shutdown_stream_write(h3, streamID) }
                    continue
                case NGTCP2_ERR_WRITE_MORE:
                    if let h3, nghttp3_conn_add_write_offset(h3, streamID, Int(accepted)) != 0 {
                        return fail(library: "nghttp3_conn_add_write_offset", code: -1)
                    }
                    continue
                default:
                    return fail(library: "ngtcp2_conn_writev_stream", code: Int(written))
                }
            }
            if accepted >= 0, let h3, nghttp3_conn_add_write_offset(h3, streamID, Int(accepted)) != 0 {
                return fail(library: "nghttp3_conn_add_write_offset", code: -1)
            }
            if written == 0 { break }
            send(batch.add(Int(written)))
            sent += 1
        }
        send(batch.finish())
        ngtcp2_conn_update_pkt_tx_time(conn, now)
        owner.flush()
        armTimer()
    }

    private func send(_ run: PacketBatch.Run?) {
        guard let run else { return }
        owner.send(ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: packet[run.bytes])), segment: run.segment, to: remote)
    }

    /// Keeps one timer at the earliest deadline ngtcp2 asks for. A later deadline keeps the
    /// timer that is set (it fires early, finds nothing due, and re-arms): re-scheduling on
    /// every write costs more than the rare early wake-up.
    private func armTimer() {
        let expiry = ngtcp2_conn_get_expiry(conn)
        guard expiry < timerDeadline else { return }
        timer?.cancel()
        timerDeadline = expiry
        let now = Self.now()
        let delay = expiry > now ? expiry - now : 0
        let bound = NIOLoopBound(self, eventLoop: owner.loop)
        timer = owner.loop.scheduleTask(in: .nanoseconds(Int64(delay))) { bound.value.timerFired() }
    }

    private func timerFired() {
        guard !isClosed else { return }
        timerDeadline = .max
        timer = nil
        let now = Self.now()
        guard ngtcp2_conn_get_expiry(conn) <= now else { return armTimer() }
        dispatching = true
        let result = ngtcp2_conn_handle_expiry(conn, now)
        dispatching = false
        guard result == 0 else { return fail(library: "ngtcp2_conn_handle_expiry", code: Int(result)) }
        afterCallbacks()
        writePackets()
    }

    func learnPeer() -> Bool {
        let credentials = owner.credentials
        guard role == .answering else {
            guard let pinned = credentials.pinnedAuthority else { return true }
            return TLSSession.chainEnds(in: pinned, session: session)
        }
        if credentials.admitsAnonymousClients {
            guard TLSSession.peerPresentedCertificate(session) else {
                guard owner.admitAnonymous(self) else { return false }
                isAnonymous = true
                return true
            }
            guard TLSSession.peerIsVerified(session) else { return false }
        }
        guard let name = TLSSession.peerNodeID(session) else { return false }
        peer = NodeID(name)
        return true
    }
}
