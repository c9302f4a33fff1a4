import Foundation
import HTTPTypes
import NIOCore
import StowageCore

/// The data verbs a node answers for its drives (CLUSTER.md §2, §3): everything a write, a
/// read or the collector on another node does to a drive's shards and data rows. A copy
/// delivered twice in a row does no harm (a shard file is created exclusively, the rest are
/// idempotent); a `stage` delivered after the write's `discard` would leave a data row with
/// no file, which only leaks. Every verb but `release`, `condemned` and `accepted` answers 404 without
/// touching anything when the drive is not served or out of rotation (a condemnation must
/// be lifted, and read, on a drive out of rotation too). The drive's own settings decide its
/// durability (a shard file is synced when the drive runs with fsync on).
enum DataVerb: String, Sendable {
    /// Body: the shard's records, streamed; the file is removed if the body fails, and
    /// synced before the answer when the drive runs with fsync on.
    case shardWrite
    /// Answers `length` bytes at `offset` of a shard file or inline shard.
    case shardRead
    /// Streams `length` bytes of a shard file from `offset` (a read of many chunks: the
    /// reader takes records as it goes, and QUIC's flow control keeps the file read just
    /// ahead of it). 404 for an inline shard.
    case shardStream
    /// Records that the drive holds the data (body: the inline shard, when inline).
    case stage
    /// Body: the JSON list of ``LinkedShard``s; links them under the data ref and stages it;
    /// answers the JSON list of the part numbers that count.
    case stageLinked
    case discard
    case condemn
    /// Body: the register key; answers the drive's accepted value as a `read` reply.
    case accepted
    /// Answers one byte: 1 while the drive's condemnation of the data holds.
    case condemned
    case collect
    case release
    /// `stowage-data-ref`: the bucket ID; `stowage-token`: the fence's owner; `stowage-until`:
    /// wall ms, `forever` or `open`.
    case bucketFence
    /// Answers 200 while the drive is in rotation.
    case probe

    static let dataRef = HTTPField.Name("stowage-data-ref")!
    static let part = HTTPField.Name("stowage-part")!
    static let slot = HTTPField.Name("stowage-slot")!
    static let inline = HTTPField.Name("stowage-inline")!
    static let offset = HTTPField.Name("stowage-offset")!
    static let length = HTTPField.Name("stowage-length")!
    static let wallMs = HTTPField.Name("stowage-wall-ms")!
    /// `discard` and `collect`: the comma-separated parts whose shard files go.
    static let parts = HTTPField.Name("stowage-parts")!
    static let until = HTTPField.Name("stowage-until")!
    /// `probe`'s answer: the drive's free bytes and its filesystem's ID.
    static let freeBytes = HTTPField.Name("stowage-free-bytes")!
    static let filesystem = HTTPField.Name("stowage-filesystem")!
    /// `stage` and `stageLinked`: the register the data is staged for (hex scope, hex key).
    static let ownerScope = HTTPField.Name("stowage-owner-scope")!
    static let ownerKey = HTTPField.Name("stowage-owner-key")!
    static let token = HTTPField.Name("stowage-token")!
}

/// The fields of one data request, parsed.
struct DataFields {
    let dataRef: [UInt8]
    let part: Int
    let slot: Int
    let inline: Bool
    let fileParts: [Int]
    let owner: RegisterKey?

    init?(_ fields: HTTPFields) {
        guard let hex = fields[DataVerb.dataRef], let dataRef = StowageCore.Hex.decode(hex) else { return nil }
        self.dataRef = dataRef
        part = fields[DataVerb.part].flatMap { Int($0) } ?? 1
        slot = fields[DataVerb.slot].flatMap { Int($0) } ?? 0
        inline = fields[DataVerb.inline] == "1"
        if let list = fields[DataVerb.parts] {
            fileParts = list.split(separator: ",").compactMap { Int($0) }
        } else {
            fileParts = inline ? [] : [part]
        }
        switch (fields[DataVerb.ownerScope], fields[DataVerb.ownerKey]) {
        case (nil, nil):
            owner = nil
        case (let scope?, let key?):
            // Present but unreadable is a malformed request, never "no owner".
            guard let scope = StowageCore.Hex.decode(scope), let key = StowageCore.Hex.decode(key) else { return nil }
            owner = RegisterKey(scope: scope, key: key)
        default:
            return nil
        }
    }
}

extension DriveRequestHandler {
    func handleData(_ verb: DataVerb, _ request: ClusterRequest) async throws -> ClusterResponse {
        guard let uuid = request.fields[Self.driveField] else { return ClusterResponse(status: .badRequest) }
        guard case .drive(let drive)? = lookup(uuid) else { return ClusterResponse(status: .notFound) }
        if verb == .probe {
            var fields = HTTPFields()
            if let space = drive.space {
                fields[DataVerb.freeBytes] = String(space.free)
                fields[DataVerb.filesystem] = String(space.filesystem)
            }
            return ClusterResponse(status: drive.online ? .ok : .notFound, fields: fields)
        }
        if verb == .accepted {
            let body = try await request.body.collect(upTo: 1 << 20, orThrow: S3Error(.entityTooLarge))
            guard let (_, key) = AcceptorWire.decodeRequest(Array(body.readableBytesView)) else { return ClusterResponse(status: .badRequest) }
            let accepted = try await drive.accepted(key)
            return ClusterResponse(body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(.state(accepted: accepted, chosen: false)))))
        }
        guard let fields = DataFields(request.fields) else { return ClusterResponse(status: .badRequest) }
        // Release works on a drive out of rotation too (a condemnation must not outlive its
        // collector run); everything else needs the drive in rotation.
        let until = request.fields[DataVerb.until]
        guard drive.online || verb == .release || verb == .condemned || (verb == .bucketFence && until == "open") else {
            return ClusterResponse(status: .notFound)
        }
        switch verb {
        case .shardWrite:
            return try await writeShard(request, fields, drive: drive)
        case .shardStream:
            guard !fields.inline, let offset = request.fields[DataVerb.offset].flatMap({ Int64($0) }), offset >= 0,
                  let length = request.fields[DataVerb.length].flatMap({ Int64($0) }), length >= 0
            else { return ClusterResponse(status: .badRequest) }
            let (end, overflow) = offset.addingReportingOverflow(length)
            // A range past the file's end is refused now (the reader asks per chunk instead)
            // rather than streamed until it breaks.
            guard !overflow, case .file(let file)? = drive.shardSource(
                dataRef: fields.dataRef, part: fields.part, slot: fields.slot, inline: false, prefetch: InlinePrefetch()),
                let size = file.size, end <= size
            else { return ClusterResponse(status: .notFound) }
            return ClusterResponse(body: S3Body(stream: ShardFileStream(file: file, range: offset..<end), length: length))
        case .shardRead:
            guard let offset = request.fields[DataVerb.offset].flatMap({ Int64($0) }),
                  let length = request.fields[DataVerb.length].flatMap({ Int($0) }), length >= 0, length <= 64 << 20,
                  let source = drive.shardSource(dataRef: fields.dataRef, part: fields.part, slot: fields.slot, inline: fields.inline, prefetch: InlinePrefetch()),
                  let bytes = source.read(at: offset, length: length)
            else { return ClusterResponse(status: .notFound) }
            return ClusterResponse(body: S3Body(ByteBuffer(bytes: bytes)))
        case .stage:
            let shard: StagedShard
            if fields.inline {
                let body = try await request.body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge))
                shard = .inline(part: fields.part, slot: fields.slot, bytes: Array(body.readableBytesView))
            } else {
                guard let length = request.fields[DataVerb.length].flatMap({ Int64($0) }) else { return ClusterResponse(status: .badRequest) }
                shard = .file(part: fields.part, slot: fields.slot, length: length)
            }
            let wallMs = request.fields[DataVerb.wallMs].flatMap { UInt64($0) } ?? WallClock.nowMs()
            try await drive.stage(dataRef: fields.dataRef, owner: fields.owner, shard: shard, wallMs: wallMs)
        case .discard:
            await drive.discard(dataRef: fields.dataRef, slot: fields.slot, fileParts: fields.fileParts)
        case .stageLinked:
            let body = try await request.body.collect(upTo: 16 << 20, orThrow: S3Error(.entityTooLarge))
            guard let shards = try? JSONDecoder().decode([LinkedShard].self, from: Data(body.readableBytesView)) else {
                return ClusterResponse(status: .badRequest)
            }
            let wallMs = request.fields[DataVerb.wallMs].flatMap { UInt64($0) } ?? WallClock.nowMs()
            let counted = try await drive.stageLinked(target: fields.dataRef, owner: fields.owner, shards: shards, wallMs: wallMs)
            return ClusterResponse(body: S3Body(ByteBuffer(bytes: Array(try JSONEncoder().encode(counted)))))
        case .condemn, .condemned, .collect, .release:
            guard let token = request.fields[DataVerb.token].flatMap({ StowageCore.Hex.decode($0) }), !token.isEmpty else {
                return ClusterResponse(status: .badRequest)
            }
            return try await collectorVerb(verb, fields, token: token, drive: drive)
        case .bucketFence:
            // Only a literal: anything unreadable must not become a fence for good.
            guard let until, let token = request.fields[DataVerb.token].flatMap({ StowageCore.Hex.decode($0) }), !token.isEmpty else {
                return ClusterResponse(status: .badRequest)
            }
            let untilMs = UInt64(until)
            guard until == "open" || until == "forever" || untilMs != nil else { return ClusterResponse(status: .badRequest) }
            try await drive.fenceBucket(fields.dataRef, token: token, untilMs: untilMs, open: until == "open")
        case .accepted, .probe:
            break
        }
        return ClusterResponse(status: .ok)
    }

    private func collectorVerb(_ verb: DataVerb, _ fields: DataFields, token: [UInt8], drive: ClusterDrive) async throws -> ClusterResponse {
        switch verb {
        case .condemn:
            try await drive.condemn(dataRef: fields.dataRef, token: token)
        case .condemned:
            let held = try await drive.stillCondemned(dataRef: fields.dataRef, token: token)
            return ClusterResponse(body: S3Body(ByteBuffer(bytes: [held ? 1 : 0])))
        case .collect:
            await drive.collect(dataRef: fields.dataRef, token: token, slot: fields.slot, fileParts: fields.fileParts)
        default:
            await drive.release(dataRef: fields.dataRef, token: token)
        }
        return ClusterResponse(status: .ok)
    }

    /// Streams the body into a new shard file (synced when asked) before answering 200. A
    /// body that fails (the writer gave up) or a write that fails leaves no file behind.
    private func writeShard(_ request: ClusterRequest, _ fields: DataFields, drive: ClusterDrive) async throws -> ClusterResponse {
        let path = drive.layout.shardPath(dataRef: fields.dataRef, part: fields.part, slot: fields.slot)
        let file = try ShardFile.create(path, exclusive: true)
        var offset: Int64 = 0
        do {
            for try await buffer in request.body {
                try buffer.withUnsafeReadableBytes { try file.write($0, at: offset) }
                offset += Int64(buffer.readableBytes)
            }
            // A cancelled handler sees its body end early without an error: never answer
            // 200 for that. (`stage` checks the length as well.)
            try Task.checkCancellation()
            // The drive's own durability setting decides, not the sender's.
            if drive.durable { try file.sync() }
        } catch let failure as ShardFile.Failure {
            unlink(path)
            drive.record(error: "\(failure)")
            throw failure
        } catch {
            unlink(path)
            throw error
        }
        return ClusterResponse(status: .ok)
    }
}
