import Foundation
import HTTPTypes
import NIOCore
import StowageCore
import Synchronization

/// A drive of another node in one of this node's erasure sets: every data operation goes
/// through the cluster transport as a ``DataVerb`` to the node that has the drive, and the
/// register through a ``RemoteDriveReplica``. Whether it is online is what its last probe
/// found (the prober asks each probe interval); node membership and heartbeats come with the
/// QUIC transport (issue 14).
///
/// ```swift
/// let drive = RemoteDrive(transport: transport, node: NodeID("n2"), driveUUID: "3f2a…")
/// let sink = try drive.createShard(dataRef: ref, part: 1, slot: 4)   // .stream, for the erasure writer
/// ```
final class RemoteDrive: SetDrive {
    let transport: any ClusterTransport
    let node: NodeID
    let driveUUID: String
    private let state = Mutex<(online: Bool, reason: String?)>((true, nil))
    private let measured = Mutex<DriveSpace?>(nil)
    /// Probes in a row that got no answer in time.
    private let silentProbes = Mutex(0)
    /// A drive whose node answers nothing is taken out after this many silent probes in a
    /// row: one slow answer from a busy node must not turn its drives' writes into 503s. A
    /// node that says the drive is out of rotation, or cannot be reached at all, takes it out
    /// at once.
    static let silentProbesTolerated = 2

    init(transport: any ClusterTransport, node: NodeID, driveUUID: String) {
        self.transport = transport
        self.node = node
        self.driveUUID = driveUUID
    }

    var name: String { "\(node):\(driveUUID)" }
    var online: Bool { state.withLock { $0.online } }
    var reason: String? { state.withLock { $0.reason } }
    var space: DriveSpace? { measured.withLock { $0 } }

    func replica(prefetch: InlinePrefetch) -> any RegisterReplica {
        RemoteDriveReplica(transport: transport, node: node, driveUUID: driveUUID) { [weak self] in self?.online ?? false }
    }

    /// Asks the node whether the drive is in rotation there.
    /// Asks the node whether the drive is in rotation there; no answer within `deadline`
    /// takes the drive out (a stalled peer must not hold up the other drives' probes).
    func probe(deadline: Duration = .seconds(2)) async {
        enum Outcome { case answered(DriveSpace?), out(String), silent(String) }
        let transport = self.transport, node = self.node, request = self.request(.probe)
        let outcome: Outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    let response = try await transport.send(request, to: node)
                    await Self.drain(response.body)
                    var space: DriveSpace?
                    if let free = response.fields[DataVerb.freeBytes].flatMap({ Int64($0) }),
                       let filesystem = response.fields[DataVerb.filesystem].flatMap({ UInt64($0) }) {
                        space = DriveSpace(free: free, filesystem: filesystem)
                    }
                    return response.status == .ok ? .answered(space) : .out("node \(node) reports the drive out of rotation")
                } catch ClusterTransportError.notDelivered(_, let reason) {
                    return .out("node \(node) cannot be reached: \(reason)")
                } catch {
                    return .silent("node \(node) did not answer: \(error)")
                }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return .silent("node \(node) did not answer within \(deadline)")
            }
            let first = await group.next() ?? .silent("no answer")
            group.cancelAll()
            return first
        }
        switch outcome {
        case .answered(let space):
            if let space { measured.withLock { $0 = space } }
            silentProbes.withLock { $0 = 0 }
            state.withLock { $0 = (true, nil) }
        case .out(let reason):
            state.withLock { $0 = (false, reason) }
        case .silent(let reason):
            let silent = silentProbes.withLock { count -> Int in
                count += 1
                return count
            }
            if silent > Self.silentProbesTolerated { state.withLock { $0 = (false, reason) } }
        }
    }

    func createShard(dataRef: [UInt8], part: Int, slot: Int) throws -> ShardSink {
        let fields = DataFieldsBuilder(dataRef: dataRef, part: part, slot: slot, inline: false)
        return .stream(RemoteShardWriter(transport: transport, node: node, request: request(.shardWrite, fields)))
    }

    func stage(dataRef: [UInt8], owner: RegisterKey?, shard: StagedShard, wallMs: UInt64) async throws {
        var fields: DataFieldsBuilder
        var body = S3Body.empty
        switch shard {
        case .inline(let part, let slot, let bytes):
            fields = DataFieldsBuilder(dataRef: dataRef, part: part, slot: slot, inline: true)
            body = S3Body(ByteBuffer(bytes: bytes))
        case .file(let part, let slot, let length):
            fields = DataFieldsBuilder(dataRef: dataRef, part: part, slot: slot, inline: false)
            fields.set(DataVerb.length, String(length))
        }
        fields.set(DataVerb.wallMs, String(wallMs))
        fields.set(owner)
        try await call(.stage, fields, body: body)
    }

    func stageLinked(target: [UInt8], owner: RegisterKey?, shards: [LinkedShard], wallMs: UInt64) async throws -> [Int] {
        var fields = DataFieldsBuilder(dataRef: target)
        fields.set(DataVerb.wallMs, String(wallMs))
        fields.set(owner)
        let body = try JSONEncoder().encode(shards)
        let answer = try await call(.stageLinked, fields, body: S3Body(ByteBuffer(bytes: body)))
        guard let counted = try? JSONDecoder().decode([Int].self, from: Data(answer.readableBytesView)) else {
            throw ClusterTransportError.outcomeUnknown(node, reason: "an unreadable answer to stageLinked")
        }
        return counted
    }

    func discard(dataRef: [UInt8], slot: Int, fileParts: [Int]) async {
        _ = try? await call(.discard, DataFieldsBuilder(dataRef: dataRef, slot: slot, fileParts: fileParts))
    }

    func shardSource(dataRef: [UInt8], part: Int, slot: Int, inline: Bool, prefetch: InlinePrefetch) -> ShardSource? {
        guard online else { return nil }
        return .remote(RemoteShardBytes(drive: self, fields: DataFieldsBuilder(dataRef: dataRef, part: part, slot: slot, inline: inline)))
    }

    func record(error: String?) {}

    func fenceBucket(_ bucketID: [UInt8], token: [UInt8], untilMs: UInt64?, open: Bool) async throws {
        var fields = DataFieldsBuilder(dataRef: bucketID)
        fields.set(DataVerb.until, open ? "open" : untilMs.map(String.init) ?? "forever")
        fields.set(DataVerb.token, Hex.string(token))
        try await call(.bucketFence, fields)
    }

    func condemn(dataRef: [UInt8], token: [UInt8]) async throws {
        try await call(.condemn, DataFieldsBuilder(dataRef: dataRef).run(token))
    }

    func accepted(_ key: RegisterKey) async throws -> AcceptedValue? {
        let bytes = try await call(.accepted, DataFieldsBuilder(), body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(.read, key: key))))
        guard case .state(let accepted, _)? = AcceptorWire.decodeReply(Array(bytes.readableBytesView)) else {
            throw ClusterTransportError.outcomeUnknown(node, reason: "an unreadable answer to accepted")
        }
        return accepted
    }

    func stillCondemned(dataRef: [UInt8], token: [UInt8]) async throws -> Bool {
        let bytes = try await call(.condemned, DataFieldsBuilder(dataRef: dataRef).run(token))
        return bytes.readableBytesView.first == 1
    }

    func collect(dataRef: [UInt8], token: [UInt8], slot: Int, fileParts: [Int]) async {
        _ = try? await call(.collect, DataFieldsBuilder(dataRef: dataRef, slot: slot, fileParts: fileParts).run(token))
    }

    func release(dataRef: [UInt8], token: [UInt8]) async {
        _ = try? await call(.release, DataFieldsBuilder(dataRef: dataRef).run(token))
    }

    func request(_ verb: DataVerb, _ fields: DataFieldsBuilder = DataFieldsBuilder(), body: S3Body = .empty) -> ClusterRequest {
        var all = fields.fields
        all[DriveRequestHandler.driveField] = driveUUID
        return ClusterRequest(verb: verb.rawValue, resource: "drive/\(driveUUID)", fields: all, body: body)
    }

    /// Sends one data verb; its answer's body on 200, else throws.
    @discardableResult
    func call(_ verb: DataVerb, _ fields: DataFieldsBuilder, body: S3Body = .empty) async throws -> ByteBuffer {
        let response = try await transport.send(request(verb, fields, body: body), to: node)
        guard response.status == .ok else {
            await Self.drain(response.body)
            throw ClusterTransportError.outcomeUnknown(node, reason: "\(verb.rawValue) answered \(response.status.code)")
        }
        return try await response.body.collect(upTo: 80 << 20, orThrow: S3Error(.entityTooLarge))
    }

    static func drain(_ body: S3Body) async {
        do { for try await _ in body {} } catch {}
    }
}

/// The fields of a data verb, as the sender builds them.
struct DataFieldsBuilder {
    var fields = HTTPFields()

    init() {}

    init(dataRef: [UInt8], part: Int = 1, slot: Int = 0, inline: Bool = false) {
        fields[DataVerb.dataRef] = Hex.string(dataRef)
        fields[DataVerb.part] = String(part)
        fields[DataVerb.slot] = String(slot)
        fields[DataVerb.inline] = inline ? "1" : "0"
    }

    init(dataRef: [UInt8], slot: Int, fileParts: [Int]) {
        self.init(dataRef: dataRef, part: fileParts.first ?? 1, slot: slot, inline: fileParts.isEmpty)
        fields[DataVerb.parts] = fileParts.map(String.init).joined(separator: ",")
    }

    mutating func set(_ name: HTTPField.Name, _ value: String) { fields[name] = value }

    mutating func set(_ owner: RegisterKey?) {
        guard let owner else { return }
        fields[DataVerb.ownerScope] = Hex.string(owner.scope)
        fields[DataVerb.ownerKey] = Hex.string(owner.key)
    }

    /// The collector run a verb acts for (`stowage-token`).
    func run(_ token: [UInt8]) -> DataFieldsBuilder {
        var copy = self
        copy.fields[DataVerb.token] = Hex.string(token)
        return copy
    }
}

/// Reads a shard on another node, one chunk's record per request.
struct RemoteShardBytes: RemoteShardReader {
    let drive: RemoteDrive
    let fields: DataFieldsBuilder

    func read(at offset: Int64, length: Int) async -> ByteBuffer? {
        var fields = self.fields
        fields.set(DataVerb.offset, String(offset))
        fields.set(DataVerb.length, String(length))
        guard let bytes = try? await drive.call(.shardRead, fields), bytes.readableBytes == length else { return nil }
        return bytes
    }

    func stream(at offset: Int64, length: Int64) async -> ShardByteStream? {
        var fields = self.fields
        fields.set(DataVerb.offset, String(offset))
        fields.set(DataVerb.length, String(length))
        guard let response = try? await drive.transport.send(drive.request(.shardStream, fields), to: drive.node) else { return nil }
        guard response.status == .ok else {
            await RemoteDrive.drain(response.body)
            return nil
        }
        return ShardByteStream(response.body)
    }
}
