public import StowageCore

/// One node's end of an ``InProcessNetwork``: what the cluster backend sends with in tests and
/// in the simulator, in place of QUIC. Obtained from ``InProcessNetwork/attach(_:handler:)``.
///
/// It keeps the transport contract's two failure kinds apart as a real network would:
/// `notDelivered` when the handler never saw the request (unknown or detached node, cut link,
/// dropped request); `outcomeUnknown` when it did, or may have, but no answer came back (the
/// handler threw, the reply was dropped, or the link back was cut while it ran).
///
/// ```swift
/// let network = InProcessNetwork()
/// let transport = network.attach(NodeID("node-1"), handler: node)
/// let response = try await transport.send(ClusterRequest(verb: "read", resource: "drive/3f2a/obj/b1/k"),
///                                         to: NodeID("node-2"))
/// for try await chunk in response.body { consume(chunk) }
/// ```
public struct InProcessTransport: ClusterTransport {
    /// The node this transport sends from; receivers see it as the sender.
    public let local: NodeID
    let network: InProcessNetwork

    init(local: NodeID, network: InProcessNetwork) {
        self.local = local
        self.network = network
    }

    /// Delivers `request` to `node`'s handler in this process, subject to the network's
    /// topology and fault plan; the response body streams from the handler.
    public func send(_ request: ClusterRequest, to node: NodeID) async throws -> ClusterResponse {
        try await network.deliver(request, from: local, to: node)
    }
}
