public import NIOCore

/// The endpoints of processes that are not (yet) serving nodes: a joiner, a node forming from
/// seeds, a `stowage cluster` command speaking for its node. None of them answers requests.
extension QUICEndpoint {
    /// An endpoint for a process that joins the cluster: it has no certificate, and trusts a
    /// node only if that node's chain ends in the CA whose SHA-256 `fingerprint` it pinned.
    /// It binds an ephemeral port on `host` (the address this node will be reached at).
    public static func joining(pinning fingerprint: String, host: String = "127.0.0.1", group: (any EventLoopGroup)? = nil) async throws -> QUICEndpoint {
        try await bind(
            host: host, port: 0, tls: try TLSCredentials(pinning: fingerprint, nodeID: "joining"),
            handler: RefusingHandler(), group: group)
    }

    /// An endpoint that only dials, under a member's own certificate: a `stowage cluster`
    /// command speaking for its node to the running nodes (it answers no request). It binds
    /// an ephemeral port on `host`.
    public static func dialling(credentials: NodeCredentials, host: String = "127.0.0.1", group: (any EventLoopGroup)? = nil) async throws -> QUICEndpoint {
        try await bind(host: host, port: 0, credentials: credentials, handler: RefusingHandler(), group: group)
    }

    /// An endpoint for a process forming a cluster from seeds, before it knows the CA: it
    /// accepts any server. Only for the formation hello, whose answer proves itself (it is
    /// bound to the formation secret); everything else goes over ``joining(pinning:host:group:)``.
    public static func introducing(host: String = "127.0.0.1", group: (any EventLoopGroup)? = nil) async throws -> QUICEndpoint {
        try await bind(host: host, port: 0, tls: try TLSCredentials(acceptingAnyServer: "forming"), handler: RefusingHandler(), group: group)
    }
}
