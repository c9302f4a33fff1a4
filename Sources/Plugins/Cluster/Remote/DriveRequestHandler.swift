public import HTTPTypes
import NIOCore
public import StowageCore
import Synchronization

/// Serves this node's drives to the other nodes: verb `register`, the drive's UUID and a
/// request ID in the fields, the acceptor request in the body, the reply in the response.
/// Each request ID is processed at most once (a transport may deliver a request twice, and
/// F1's "every drive refused" is sound only if it does not: see RegisterMutationTests). A
/// repeat gets the first copy's reply, or 409 while that copy is still running (which the
/// sender must read as "outcome unknown": the other copy may be applying it). An unknown
/// drive or a malformed request is answered without touching anything.
///
/// ```swift
/// let handler = DriveRequestHandler(drives: ["3f2a…": (catalog, isVoter: true)])
/// let transport = network.attach(NodeID("n1"), handler: handler)
/// ```
public final class DriveRequestHandler: ClusterRequestHandler {
    public static let verb = "register"
    /// `listRange`: a read of committed rows, answered every time (no request ID needed).
    public static let listVerb = "listRange"
    public static let driveField = HTTPField.Name("stowage-drive")!
    public static let requestIDField = HTTPField.Name("stowage-request-id")!

    /// A drive as this handler serves it: a bare catalog (register tests), or a drive of a
    /// running backend, which also serves its shard files and its collection verbs.
    enum Served: Sendable {
        case catalog(DriveCatalog, isVoter: Bool)
        case drive(ClusterDrive)

        /// The catalog while the drive is in rotation.
        var register: (catalog: DriveCatalog, isVoter: Bool)? {
            switch self {
            case .catalog(let catalog, let isVoter): return (catalog, isVoter)
            case .drive(let drive): return drive.catalog.map { ($0, drive.isVoter) }
            }
        }
    }

    let lookup: @Sendable (String) -> Served?
    /// `bucketChanged`: another node deleted or changed a bucket; this node's cached record
    /// of it must go (CLUSTER.md §6, "broadcast invalidate").
    public static let bucketVerb = "bucketChanged"
    public static let bucketField = HTTPField.Name("stowage-bucket")!
    let onBucketChanged: (@Sendable (String) -> Void)?
    private enum Seen { case running, answered([UInt8]), notServed }
    private let seen = Mutex<(replies: [String: Seen], order: [String])>(([:], []))
    /// Request IDs remembered; a duplicate arrives within moments of its twin, long before
    /// this many other requests.
    private let window = 100_000

    public init(drives: [String: (catalog: DriveCatalog, isVoter: Bool)]) {
        let served = drives.mapValues { Served.catalog($0.catalog, isVoter: $0.isVoter) }
        lookup = { served[$0] }
        onBucketChanged = nil
    }

    /// Serves whatever drives `lookup` finds at the time of each request (a backend installs
    /// its drives when it opens).
    init(lookup: @escaping @Sendable (String) -> Served?, onBucketChanged: (@Sendable (String) -> Void)? = nil) {
        self.lookup = lookup
        self.onBucketChanged = onBucketChanged
    }

    public func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        if request.verb == Self.listVerb { return try await list(request) }
        if request.verb == Self.bucketVerb {
            guard let name = request.fields[Self.bucketField] else { return ClusterResponse(status: .badRequest) }
            onBucketChanged?(name)
            return ClusterResponse(status: .ok)
        }
        if let verb = DataVerb(rawValue: request.verb) { return try await handleData(verb, request) }
        guard request.verb == Self.verb, let uuid = request.fields[Self.driveField],
              let requestID = request.fields[Self.requestIDField] else {
            return ClusterResponse(status: .badRequest)
        }
        let body = try await request.body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge))
        guard let (acceptorRequest, key) = AcceptorWire.decodeRequest(Array(body.readableBytesView)) else {
            return ClusterResponse(status: .badRequest)
        }
        // The duplicate check comes before the drive's rotation state: a copy applied while
        // the drive was in rotation must never be answered "not served" afterwards (the sender
        // would read 404 as not delivered, and F1's "every drive refused" would lie).
        let id = sender.rawValue + "/" + requestID
        switch claim(id) {
        case .answered(let bytes)?: return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(bytes: bytes)))
        case .running?: return ClusterResponse(status: .conflict)
        case .notServed?: return ClusterResponse(status: .notFound)
        case nil: break
        }
        // 404 for a drive not served here or out of rotation: nothing is applied, and every
        // copy of this request now gets the same answer.
        guard let drive = lookup(uuid)?.register else {
            seen.withLock { $0.replies[id] = .notServed }
            return ClusterResponse(status: .notFound)
        }
        // If this throws (a failed commit may still have applied), the entry stays "running":
        // a repeat then reads as outcome unknown, never as refused.
        let reply = AcceptorWire.encode(
            try await drive.catalog.apply(acceptorRequest, to: key, wallMs: WallClock.nowMs(), isVoter: drive.isVoter))
        seen.withLock { $0.replies[id] = .answered(reply) }
        return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(bytes: reply)))
    }

    private func list(_ request: ClusterRequest) async throws -> ClusterResponse {
        guard let uuid = request.fields[Self.driveField] else { return ClusterResponse(status: .badRequest) }
        guard let drive = lookup(uuid)?.register else { return ClusterResponse(status: .notFound) }
        let body = try await request.body.collect(upTo: 1 << 20, orThrow: S3Error(.entityTooLarge))
        guard let range = AcceptorWire.decodeListRange(Array(body.readableBytesView)) else {
            return ClusterResponse(status: .badRequest)
        }
        let reply = try drive.catalog.listRange(range, isVoter: drive.isVoter)
        return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(reply))))
    }

    /// Nil for the first copy (now marked running); else what the first copy left.
    private func claim(_ id: String) -> Seen? {
        seen.withLock { seen in
            if let earlier = seen.replies[id] { return earlier }
            seen.replies[id] = .running
            seen.order.append(id)
            if seen.order.count > window {
                let drop = seen.order.count - window
                for old in seen.order.prefix(drop) { seen.replies[old] = nil }
                seen.order.removeFirst(drop)
            }
            return nil
        }
    }
}

/// A drive on another node, reached through a ``ClusterTransport``.
///
/// ```swift
/// let replica = RemoteDriveReplica(transport: transport, node: NodeID("n2"), driveUUID: "3f2a…")
/// ```
public struct RemoteDriveReplica: RegisterReplica {
    public let transport: any ClusterTransport
    public let node: NodeID
    public let driveUUID: String
    /// Whether the drive answered its last probe (advisory, see ``RegisterReplica/isOnline``).
    let probed: (@Sendable () -> Bool)?

    public init(transport: any ClusterTransport, node: NodeID, driveUUID: String) {
        self.init(transport: transport, node: node, driveUUID: driveUUID, probed: nil)
    }

    init(transport: any ClusterTransport, node: NodeID, driveUUID: String, probed: (@Sendable () -> Bool)?) {
        self.transport = transport
        self.node = node
        self.driveUUID = driveUUID
        self.probed = probed
    }

    public var isOnline: Bool { probed?() ?? true }

    public func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
        var fields = HTTPFields()
        fields[DriveRequestHandler.driveField] = driveUUID
        fields[DriveRequestHandler.requestIDField] = WriteID.random().description
        let message = ClusterRequest(
            verb: DriveRequestHandler.verb, resource: "drive/\(driveUUID)", fields: fields,
            body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(request, key: key))))
        do {
            let response = try await transport.send(message, to: node)
            // 400 and 404 are answered before anything is applied. Anything else but 200 (409:
            // a copy of this request is being applied; a 5xx a transport adds) may hide an effect.
            if response.status == .badRequest || response.status == .notFound { return .notDelivered }
            guard response.status == .ok else { return .outcomeUnknown }
            let body = try await response.body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge))
            return AcceptorWire.decodeReply(Array(body.readableBytesView)).map { .reply($0) } ?? .outcomeUnknown
        } catch ClusterTransportError.notDelivered {
            return .notDelivered
        } catch {
            return .outcomeUnknown
        }
    }

    public func listRange(_ request: ListRangeRequest) async -> ListRangeReply? {
        var fields = HTTPFields()
        fields[DriveRequestHandler.driveField] = driveUUID
        let message = ClusterRequest(
            verb: DriveRequestHandler.listVerb, resource: "drive/\(driveUUID)", fields: fields,
            body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(request))))
        guard let response = try? await transport.send(message, to: node), response.status == .ok,
              let body = try? await response.body.collect(upTo: 256 << 20, orThrow: S3Error(.entityTooLarge))
        else { return nil }
        return AcceptorWire.decodeListRangeReply(Array(body.readableBytesView))
    }
}
