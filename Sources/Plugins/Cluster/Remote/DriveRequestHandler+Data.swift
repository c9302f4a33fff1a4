import Foundation
import HTTPTypes
import NIOCore
import StowageCore

/// The data verbs a node answers for its drives (CLUSTER.md §2, §3): everything a write, a
/// read or the collector on another node does to a drive's shards and data rows. Each is
/// safe to apply twice (a shard file is created exclusively, the rest are idempotent), and
/// each answers 404 without touching anything when the drive is not served or out of
/// rotation.
enum DataVerb: String, Sendable {
    /// Body: the shard's records, streamed; the file is removed if the body fails.
    case shardWrite
    /// Answers `length` bytes at `offset` of a shard file or inline shard.
    case shardRead
    /// Records that the drive holds the data (body: the inline shard, when inline).
    case stage
    case discard
    case condemn
    /// Body: the register key; answers the drive's accepted value as a `read` reply.
    case accepted
    case collect
    case release
    /// Answers 200 while the drive is in rotation.
    case probe

    static let dataRef = HTTPField.Name("stowage-data-ref")!
    static let part = HTTPField.Name("stowage-part")!
    static let slot = HTTPField.Name("stowage-slot")!
    static let inline = HTTPField.Name("stowage-inline")!
    static let sync = HTTPField.Name("stowage-sync")!
    static let offset = HTTPField.Name("stowage-offset")!
    static let length = HTTPField.Name("stowage-length")!
    static let wallMs = HTTPField.Name("stowage-wall-ms")!
}

/// The fields of one data request, parsed.
struct DataFields {
    let dataRef: [UInt8]
    let part: Int
    let slot: Int
    let inline: Bool

    init?(_ fields: HTTPFields) {
        guard let hex = fields[DataVerb.dataRef], let dataRef = Hex.bytes(hex) else { return nil }
        self.dataRef = dataRef
        part = fields[DataVerb.part].flatMap { Int($0) } ?? 1
        slot = fields[DataVerb.slot].flatMap { Int($0) } ?? 0
        inline = fields[DataVerb.inline] == "1"
    }
}

extension DriveRequestHandler {
    func handleData(_ verb: DataVerb, _ request: ClusterRequest) async throws -> ClusterResponse {
        guard let uuid = request.fields[Self.driveField] else { return ClusterResponse(status: .badRequest) }
        guard case .drive(let drive)? = lookup(uuid) else { return ClusterResponse(status: .notFound) }
        if verb == .probe { return ClusterResponse(status: drive.online ? .ok : .notFound) }
        if verb == .accepted {
            let body = try await request.body.collect(upTo: 1 << 20, orThrow: S3Error(.entityTooLarge))
            guard let (_, key) = AcceptorWire.decodeRequest(Array(body.readableBytesView)) else { return ClusterResponse(status: .badRequest) }
            let accepted = try await drive.accepted(key)
            return ClusterResponse(body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(.state(accepted: accepted, chosen: false)))))
        }
        guard let fields = DataFields(request.fields) else { return ClusterResponse(status: .badRequest) }
        // Release works on a drive out of rotation too (a condemnation must not outlive its
        // collector run); everything else needs the drive in rotation.
        guard drive.online || verb == .release else { return ClusterResponse(status: .notFound) }
        switch verb {
        case .shardWrite:
            return try await writeShard(request, fields, drive: drive)
        case .shardRead:
            guard let offset = request.fields[DataVerb.offset].flatMap({ Int64($0) }),
                  let length = request.fields[DataVerb.length].flatMap({ Int($0) }), length >= 0, length <= 64 << 20,
                  let source = drive.shardSource(dataRef: fields.dataRef, part: fields.part, slot: fields.slot, inline: fields.inline, prefetch: InlinePrefetch()),
                  let bytes = source.read(at: offset, length: length)
            else { return ClusterResponse(status: .notFound) }
            return ClusterResponse(body: S3Body(ByteBuffer(bytes: bytes)))
        case .stage:
            var inline: InlineShard?
            if fields.inline {
                let body = try await request.body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge))
                inline = InlineShard(part: fields.part, slot: fields.slot, bytes: Array(body.readableBytesView))
            }
            let wallMs = request.fields[DataVerb.wallMs].flatMap { UInt64($0) } ?? WallClock.nowMs()
            try await drive.stage(dataRef: fields.dataRef, inline: inline, wallMs: wallMs)
        case .discard:
            await drive.discard(dataRef: fields.dataRef, part: fields.part, slot: fields.slot, file: !fields.inline)
        case .condemn:
            try await drive.condemn(dataRef: fields.dataRef)
        case .collect:
            await drive.collect(dataRef: fields.dataRef, part: fields.part, slot: fields.slot, file: !fields.inline)
        case .release:
            await drive.release(dataRef: fields.dataRef)
        case .accepted, .probe:
            break
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
            if request.fields[DataVerb.sync] == "1" { try file.sync() }
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

extension Hex {
    /// The bytes of an even-length lowercase or uppercase hex string; nil if it is not one.
    static func bytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
