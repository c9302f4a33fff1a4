public import HTTPTypes

/// A node of a cluster, as transports address it.
public struct NodeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One request between nodes: a verb (`prepare`, `accept`, `read`, `list`, ...), the resource it
/// acts on, fields (map epoch, the sender's clock, the drive UUID expected, ...) and a body that
/// streams. Transports carry it without interpreting any of it.
///
/// ```swift
/// let request = ClusterRequest(verb: "read", resource: "drive/3f2a/obj/b1/photos/cat.jpg",
///                              fields: [ClusterRequest.epoch: "7"])
/// let response = try await transport.send(request, to: NodeID("node-2"))
/// ```
public struct ClusterRequest: Sendable {
    public var verb: String
    public var resource: String
    public var fields: HTTPFields
    public var body: S3Body

    public init(verb: String, resource: String, fields: HTTPFields = [:], body: S3Body = .empty) {
        self.verb = verb
        self.resource = resource
        self.fields = fields
        self.body = body
    }

    /// The cluster-map epoch the sender acts under.
    public static let epoch = HTTPField.Name("stowage-epoch")!
}

/// A node's answer: a status in HTTP's terms, fields and a body that streams.
public struct ClusterResponse: Sendable {
    public var status: HTTPResponse.Status
    public var fields: HTTPFields
    public var body: S3Body

    public init(status: HTTPResponse.Status = .ok, fields: HTTPFields = [:], body: S3Body = .empty) {
        self.status = status
        self.fields = fields
        self.body = body
    }
}

/// Why a request failed in transit. The two cases must never be confused: a protocol may retry
/// or fail over a request that was **not delivered**, but one whose **outcome is unknown** may
/// have been applied, and only the protocol's own rules (ballots, idempotent write IDs) can make
/// sending it again safe.
public enum ClusterTransportError: Error, Sendable, Equatable {
    /// The peer never received the request (no connection, refused, partitioned before send).
    case notDelivered(NodeID, reason: String)
    /// The request may have reached the peer and been applied; no answer came back (timeout,
    /// connection lost mid-exchange, reply dropped).
    case outcomeUnknown(NodeID, reason: String)
}

/// Answers requests that arrive at this node. The cluster backend installs one per node; a
/// transport delivers to it.
public protocol ClusterRequestHandler: Sendable {
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse
}

/// Carries requests between nodes: the seam between the cluster's protocols and the network.
/// Requests are independent (no ordering between two requests is promised), every response
/// streams, and failures say whether the request can have been applied
/// (``ClusterTransportError``). A handler's thrown error reaches the sender as
/// `outcomeUnknown` (the handler may have applied part of it).
///
/// Implementations: the in-process transport (tests and the simulator; seeded faults), QUIC
/// between processes. They are chosen by configuration through
/// ``PluginRegistry/registerTransport(_:factory:)``.
public protocol ClusterTransport: Sendable {
    /// This node.
    var local: NodeID { get }
    /// Sends `request` to `node` and returns its response; the response body streams from the
    /// peer. Throws ``ClusterTransportError`` for failures in transit.
    func send(_ request: ClusterRequest, to node: NodeID) async throws -> ClusterResponse
}
