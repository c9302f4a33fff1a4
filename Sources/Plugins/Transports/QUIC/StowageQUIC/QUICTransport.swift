public import NIOCore
public import StowageCore
import Synchronization

/// The cluster transport between processes (CLUSTER.md §8): QUIC with mutual TLS under the
/// cluster CA, one bidirectional stream per request, framed as HTTP/3, bodies streamed both
/// ways with QUIC flow control as backpressure, one pooled connection per peer.
///
/// ```swift
/// let transport = try await QUICTransport.start(
///     node: NodeID("node-1"), host: "127.0.0.1", port: 7000, credentials: credentials, handler: handler)
/// transport.setPeer(NodeID("node-2"), at: try SocketAddress(ipAddress: "127.0.0.1", port: 7001))
/// let response = try await transport.send(request, to: NodeID("node-2"))
/// ```
public final class QUICTransport: ClusterTransport {
    public let local: NodeID
    public let endpoint: QUICEndpoint
    private let directory = Mutex<[NodeID: SocketAddress]>([:])

    init(local: NodeID, endpoint: QUICEndpoint) {
        self.local = local
        self.endpoint = endpoint
    }

    /// Binds the node's QUIC socket; requests that arrive go to `handler`. The node's ID is
    /// its certificate's. With `joinHandler`, clients without a certificate may connect while
    /// `admitsJoiners()` says so (a join token is outstanding), and their requests go to it
    /// alone (the node that admits joining processes).
    public static func start(
        host: String, port: Int, credentials: NodeCredentials, handler: any ClusterRequestHandler,
        joinHandler: (any ClusterRequestHandler)? = nil, admitsJoiners: @escaping @Sendable () -> Bool = { true }
    ) async throws -> QUICTransport {
        let endpoint = try await QUICEndpoint.bind(
            host: host, port: port, credentials: credentials, handler: handler, joinHandler: joinHandler, admitsJoiners: admitsJoiners)
        let transport = QUICTransport(local: NodeID(credentials.nodeID), endpoint: endpoint)
        transport.setPeer(transport.local, at: endpoint.localAddress)
        return transport
    }

    /// Where `node` listens (from the cluster map).
    public func setPeer(_ node: NodeID, at address: SocketAddress) {
        directory.withLock { $0[node] = address }
    }

    public func send(_ request: ClusterRequest, to node: NodeID) async throws -> ClusterResponse {
        guard let address = directory.withLock({ $0[node] }) else {
            throw ClusterTransportError.notDelivered(node, reason: "no address known for \(node)")
        }
        return try await endpoint.send(request, to: node, at: address)
    }

    /// Ends the pooled connection to `node` (``QUICEndpoint/disconnect(_:)``).
    public func disconnect(_ node: NodeID) async { await endpoint.disconnect(node) }

    public func close() async throws { try await endpoint.close() }
}
