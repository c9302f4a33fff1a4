internal import CGnuTLS
internal import CNgtcp2
import Foundation

/// A node's certificate, key and trusted CA loaded into GnuTLS once, shared by every TLS
/// session of its QUIC connections.
///
/// `@unchecked Sendable`: the credentials structure is written only in `init` and then only
/// read; GnuTLS documents certificate credentials as shareable across sessions and threads
/// once set up (sessions keep their own state).
final class TLSCredentials: @unchecked Sendable {
    let handle: gnutls_certificate_credentials_t
    let nodeID: String
    /// The key of this node's stateless-reset tokens: derived from its private key, so a node
    /// that restarts recognizes the connection IDs it issued before, and answers a packet on
    /// one with a reset the peer accepts (the peer stops at once instead of timing out).
    let resetSecret: [UInt8]
    /// Answering side: a client without a certificate may connect; its requests go only to the
    /// endpoint's join handler (a process joining with a token has no certificate yet).
    let admitsAnonymousClients: Bool
    /// Dialling side, for a process joining: no CA to verify against yet, only the SHA-256 of
    /// the CA certificate the join token pins; the peer's chain must end in that CA.
    let pinnedAuthority: String?
    /// Dialling side, for a process forming a cluster from seeds before it knows the CA: any
    /// server is accepted. Only for a question whose answer is checked on its own (the
    /// formation hello, which carries nothing secret and whose answer proves the secret).
    let acceptsAnyServer: Bool

    init(_ credentials: NodeCredentials, admitsAnonymousClients: Bool = false) throws {
        handle = try Self.allocate()
        nodeID = credentials.nodeID
        self.admitsAnonymousClients = admitsAnonymousClients
        pinnedAuthority = nil
        acceptsAnyServer = false
        var digest = [UInt8](repeating: 0, count: 32)
        let material = Array("stowage/stateless-reset/".utf8) + Array(credentials.privateKeyPEM.utf8)
        try GnuTLSError.check(gnutls_hash_fast(GNUTLS_DIG_SHA256, material, material.count, &digest), "gnutls_hash_fast")
        resetSecret = digest
        // GnuTLS copies the certificates and key: the local objects can go after each call.
        let certificate = try X509Certificate.importPEM(credentials.certificatePEM)
        let ca = try X509Certificate.importPEM(credentials.caCertificatePEM)
        let key = try X509PrivateKey.importPEM(credentials.privateKeyPEM)
        var chain: [gnutls_x509_crt_t?] = [certificate.handle, ca.handle]
        try GnuTLSError.check(gnutls_certificate_set_x509_key(handle, &chain, 2, key.handle), "gnutls_certificate_set_x509_key")
        var trust: [gnutls_x509_crt_t?] = [ca.handle]
        let added = gnutls_certificate_set_x509_trust(handle, &trust, 1)
        try GnuTLSError.check(added, "gnutls_certificate_set_x509_trust")
    }

    /// Trust in the cluster CA and no certificate of our own: what a process outside the
    /// cluster has at best. For tests that show such a process is refused.
    init(trustingOnly caPEM: String, nodeID: String) throws {
        handle = try Self.allocate()
        self.nodeID = nodeID
        admitsAnonymousClients = false
        pinnedAuthority = nil
        acceptsAnyServer = false
        resetSecret = Array(repeating: 0, count: 32)
        let ca = try X509Certificate.importPEM(caPEM)
        var trust: [gnutls_x509_crt_t?] = [ca.handle]
        try GnuTLSError.check(gnutls_certificate_set_x509_trust(handle, &trust, 1), "gnutls_certificate_set_x509_trust")
    }

    /// No certificate and no trust list: the peer is checked after the handshake against the
    /// pinned CA fingerprint (``TLSSession/chainEnds(in:session:)``).
    init(pinning fingerprint: String, nodeID: String) throws {
        handle = try Self.allocate()
        self.nodeID = nodeID
        admitsAnonymousClients = false
        pinnedAuthority = fingerprint.lowercased()
        acceptsAnyServer = false
        var secret = [UInt8](repeating: 0, count: 32)
        _ = gnutls_rnd(GNUTLS_RND_KEY, &secret, secret.count)
        resetSecret = secret
    }

    /// No certificate, no trust list, no pin: see ``acceptsAnyServer``.
    init(acceptingAnyServer nodeID: String) throws {
        handle = try Self.allocate()
        self.nodeID = nodeID
        admitsAnonymousClients = false
        pinnedAuthority = nil
        acceptsAnyServer = true
        var secret = [UInt8](repeating: 0, count: 32)
        _ = gnutls_rnd(GNUTLS_RND_KEY, &secret, secret.count)
        resetSecret = secret
    }

    private static func allocate() throws -> gnutls_certificate_credentials_t {
        var cred: gnutls_certificate_credentials_t?
        try GnuTLSError.check(gnutls_certificate_allocate_credentials(&cred), "gnutls_certificate_allocate_credentials")
        return cred!
    }

    deinit { gnutls_certificate_free_credentials(handle) }
}

/// The ALPN of node-to-node traffic: its version is the protocol's.
let stowageALPN = Array("stowage/1".utf8)

/// TLS 1.3 only, as QUIC requires; no middlebox compatibility mode (ngtcp2's examples).
private let priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:"
    + "-GROUP-ALL:+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1:+GROUP-SECP521R1:%DISABLE_TLS13_COMPAT_MODE"

/// One connection's TLS session, set up for QUIC (ngtcp2's GnuTLS helper drives it).
enum TLSSession {
    /// A session for a connection we dial to `peer` (its certificate must name it) or accept
    /// (the peer must present a certificate our CA signed). `connRef` must outlive the session.
    /// `peer` must outlive the session: GnuTLS keeps the pointer, not a copy.
    static func make(
        server: Bool, peer: UnsafePointer<CChar>?, credentials: TLSCredentials, connRef: UnsafeMutablePointer<ngtcp2_crypto_conn_ref>
    ) throws -> gnutls_session_t {
        var session: gnutls_session_t?
        let noEarlyDataEnd = UInt32(GNUTLS_NO_END_OF_EARLY_DATA.rawValue)
        let flags: UInt32 = server
            ? UInt32(GNUTLS_SERVER) | noEarlyDataEnd | UInt32(GNUTLS_NO_AUTO_SEND_TICKET.rawValue)
            : UInt32(GNUTLS_CLIENT) | noEarlyDataEnd
        try GnuTLSError.check(gnutls_init(&session, flags), "gnutls_init")
        guard let session else { throw GnuTLSError(call: "gnutls_init", code: -1) }
        do {
            try GnuTLSError.check(gnutls_priority_set_direct(session, priorities, nil), "gnutls_priority_set_direct")
            let configured = server
                ? ngtcp2_crypto_gnutls_configure_server_session(session)
                : ngtcp2_crypto_gnutls_configure_client_session(session)
            guard configured == 0 else { throw GnuTLSError(call: "ngtcp2_crypto_gnutls_configure_session", code: -1) }
            gnutls_session_set_ptr(session, UnsafeMutableRawPointer(connRef))
            try GnuTLSError.check(
                gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, UnsafeMutableRawPointer(credentials.handle)), "gnutls_credentials_set")
            var alpnFlags = UInt32(GNUTLS_ALPN_MANDATORY.rawValue)
            if server { alpnFlags |= UInt32(GNUTLS_ALPN_SERVER_PRECEDENCE.rawValue) }
            try withDatum(stowageALPN) { datum in
                try GnuTLSError.check(gnutls_alpn_set_protocols(session, &datum, 1, alpnFlags), "gnutls_alpn_set_protocols")
            }
            if server {
                if credentials.admitsAnonymousClients {
                    // GnuTLS's own check would refuse a client with no certificate: a
                    // certificate presented is verified once the handshake completes instead
                    // (peerIsVerified), before any request of it is read.
                    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST)
                } else {
                    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE)
                    gnutls_session_set_verify_cert(session, nil, 0)
                }
            } else if credentials.pinnedAuthority != nil || credentials.acceptsAnyServer {
                // Pinned: checked once the handshake completes (chainEnds(in:)), before any
                // request. Any server: the answer is what gets checked.
            } else if let peer {
                try GnuTLSError.check(gnutls_server_name_set(session, GNUTLS_NAME_DNS, peer, strlen(peer)), "gnutls_server_name_set")
                gnutls_session_set_verify_cert(session, peer, 0)
            }
            return session
        } catch {
            gnutls_deinit(session)
            throw error
        }
    }

    /// The node ID the peer's certificate names (its common name), after a handshake that
    /// verified the certificate against the cluster CA.
    static func peerNodeID(_ session: gnutls_session_t) -> String? {
        var count: UInt32 = 0
        guard let list = gnutls_certificate_get_peers(session, &count), count > 0 else { return nil }
        guard let crt = try? X509Certificate.empty() else { return nil }
        var datum = list[0]
        guard gnutls_x509_crt_import(crt.handle, &datum, GNUTLS_X509_FMT_DER) >= 0 else { return nil }
        return try? crt.commonName()
    }

    /// Whether the certificate the peer presented verifies against our trusted CA.
    static func peerIsVerified(_ session: gnutls_session_t) -> Bool {
        var status: UInt32 = 0
        return gnutls_certificate_verify_peers2(session, &status) >= 0 && status == 0
    }

    /// Whether the peer presented a certificate at all.
    static func peerPresentedCertificate(_ session: gnutls_session_t) -> Bool {
        var count: UInt32 = 0
        return gnutls_certificate_get_peers(session, &count) != nil && count > 0
    }

    /// Whether the peer's chain is a certificate signed by the CA whose certificate (sent in
    /// the chain) has SHA-256 `fingerprint`: how a joining process that pinned the CA from its
    /// token knows it reached the cluster before it sends the token's secret.
    static func chainEnds(in fingerprint: String, session: gnutls_session_t) -> Bool {
        var count: UInt32 = 0
        guard let list = gnutls_certificate_get_peers(session, &count), count >= 2 else { return false }
        var certificates: [X509Certificate] = []
        for index in 0..<Int(count) {
            guard let crt = try? X509Certificate.empty() else { return false }
            var datum = list[index]
            guard gnutls_x509_crt_import(crt.handle, &datum, GNUTLS_X509_FMT_DER) >= 0 else { return false }
            certificates.append(crt)
        }
        guard let authority = certificates.dropFirst().first(where: { (try? $0.fingerprint()) == fingerprint }) else { return false }
        var trusted: [gnutls_x509_crt_t?] = [authority.handle]
        var status: UInt32 = 0
        let verified = gnutls_x509_crt_verify(certificates[0].handle, &trusted, 1, 0, &status)
        return verified >= 0 && status == 0
    }

    /// Whether the handshake agreed on our ALPN.
    static func agreedALPN(_ session: gnutls_session_t) -> Bool {
        var datum = gnutls_datum_t()
        guard gnutls_alpn_get_selected_protocol(session, &datum) == 0, let data = datum.data else { return false }
        return Array(UnsafeBufferPointer(start: data, count: Int(datum.size))) == stowageALPN
    }
}
