public import HTTPTypes
import NIOCore
public import StowageCore
import Synchronization

/// Serves this node's drives to the other nodes: verb `register`, the drive's UUID and a
/// request ID in the fields, the acceptor request in the body, the reply in the response.
/// Each request ID is processed at most once (a transport may deliver a request twice, and
/// F1's "every drive refused" is sound only if it does not: see RegisterMutationTests). An
/// unknown drive or a repeated request is answered without touching anything.
///
/// ```swift
/// let handler = DriveRequestHandler(drives: ["3f2a…": (catalog, isVoter: true)])
/// let transport = network.attach(NodeID("n1"), handler: handler)
/// ```
public final class DriveRequestHandler: ClusterRequestHandler {
    public static let verb = "register"
    public static let driveField = HTTPField.Name("stowage-drive")!
    public static let requestIDField = HTTPField.Name("stowage-request-id")!

    private let drives: [String: (catalog: DriveCatalog, isVoter: Bool)]
    private let seen = Mutex<(set: Set<String>, order: [String])>(([], []))
    /// Request IDs remembered; a duplicate arrives within moments of its twin, long before
    /// this many other requests.
    private let window = 100_000

    public init(drives: [String: (catalog: DriveCatalog, isVoter: Bool)]) {
        self.drives = drives
    }

    public func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        guard request.verb == Self.verb, let uuid = request.fields[Self.driveField],
              let requestID = request.fields[Self.requestIDField] else {
            return ClusterResponse(status: .badRequest)
        }
        guard let drive = drives[uuid] else { return ClusterResponse(status: .notFound) }
        let body = try await request.body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge))
        guard let (acceptorRequest, key) = AcceptorWire.decodeRequest(Array(body.readableBytesView)) else {
            return ClusterResponse(status: .badRequest)
        }
        guard firstTime(sender.rawValue + "/" + requestID) else { return ClusterResponse(status: .conflict) }
        let reply = try await drive.catalog.apply(acceptorRequest, to: key, wallMs: WallClock.nowMs(), isVoter: drive.isVoter)
        return ClusterResponse(status: .ok, body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(reply))))
    }

    private func firstTime(_ id: String) -> Bool {
        seen.withLock { seen in
            guard seen.set.insert(id).inserted else { return false }
            seen.order.append(id)
            if seen.order.count > window {
                let drop = seen.order.count - window
                for old in seen.order.prefix(drop) { seen.set.remove(old) }
                seen.order.removeFirst(drop)
            }
            return true
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

    public init(transport: any ClusterTransport, node: NodeID, driveUUID: String) {
        self.transport = transport
        self.node = node
        self.driveUUID = driveUUID
    }

    public func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
        var fields = HTTPFields()
        fields[DriveRequestHandler.driveField] = driveUUID
        fields[DriveRequestHandler.requestIDField] = WriteID.random().description
        let message = ClusterRequest(
            verb: DriveRequestHandler.verb, resource: "drive/\(driveUUID)", fields: fields,
            body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(request, key: key))))
        do {
            let response = try await transport.send(message, to: node)
            // The handler answers anything but 200 without touching the drive.
            guard response.status == .ok else { return .notDelivered }
            let body = try await response.body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge))
            return AcceptorWire.decodeReply(Array(body.readableBytesView)).map { .reply($0) } ?? .outcomeUnknown
        } catch ClusterTransportError.notDelivered {
            return .notDelivered
        } catch {
            return .outcomeUnknown
        }
    }
}
