import Foundation
import StowageCore
import Synchronization

/// A drive of this node in its erasure set: its catalog and shard files, reached directly.
extension ClusterDrive: SetDrive {
    var name: String { path }
    var space: DriveSpace? { measuredSpace.withLock { $0 } }

    func replica(prefetch: InlinePrefetch) -> any RegisterReplica {
        ClusterDriveReplica(drive: self, prefetch: prefetch)
    }

    func createShard(dataRef: [UInt8], part: Int, slot: Int) throws -> ShardSink {
        guard online else { throw ShardFile.Failure(operation: "create", path: "drive \(path)", code: EIO) }
        return .file(try ShardFile.create(layout.shardPath(dataRef: dataRef, part: part, slot: slot)))
    }

    func stage(dataRef: [UInt8], owner: RegisterKey?, shard: StagedShard, wallMs: UInt64) async throws {
        guard let catalog else { throw DriveUnavailable(drive: path) }
        try await track {
            switch shard {
            case .inline(let part, let slot, let bytes):
                try await catalog.stageInline(dataRef: dataRef, owner: owner, part: part, slot: slot, shard: bytes, wallMs: wallMs)
            case .file(let part, let slot, let length):
                let file = layout.shardPath(dataRef: dataRef, part: part, slot: slot)
                let found = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
                guard found == length else { throw ShortShardFile(path: file, length: found, expected: length) }
                if durable { try DurableFiles.syncDirectory(layout.shardDirectory(dataRef: dataRef)) }
                try await catalog.stage(dataRef: dataRef, owner: owner, fileParts: [part], wallMs: wallMs)
            }
        }
    }

    func stageLinked(target: [UInt8], owner: RegisterKey?, shards: [LinkedShard], wallMs: UInt64) async throws -> [Int] {
        guard let catalog else { throw DriveUnavailable(drive: path) }
        return try await track {
            // Only the shard of an attempt this drive staged (written whole and checked) is
            // linked; the transaction checks again that it is still held. A name linked for a
            // part that then does not count stays: it is the attempt's very file, and a
            // repeated request may be counting on it (removing it could leave a staged part
            // without its file); discard or collection of the target removes it.
            var linked = false
            var eligible: [LinkedShard] = []
            for shard in shards where (try? catalog.holds(dataRef: shard.attempt)) == true {
                if !shard.inline {
                    let source = layout.shardPath(dataRef: shard.attempt, part: 1, slot: shard.slot)
                    let destination = layout.shardPath(dataRef: target, part: shard.number, slot: shard.slot)
                    guard (try? ShardFile.link(source, destination)) != nil else { continue }
                    linked = true
                    let found = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value
                    guard found == shard.length else { continue }
                }
                eligible.append(shard)
            }
            if durable && linked { try DurableFiles.syncDirectory(layout.shardDirectory(dataRef: target)) }
            let attempts = eligible.map { (attempt: $0.attempt, number: $0.number, slot: $0.slot, inline: $0.inline) }
            return try await catalog.stageLinked(target: target, owner: owner, attempts: attempts, required: shards.count, wallMs: wallMs)
        }
    }

    func discard(dataRef: [UInt8], slot: Int, fileParts: [Int]) async {
        guard let catalog, (try? await catalog.discardStaged(dataRef: dataRef)) == true else { return }
        for part in fileParts { unlink(layout.shardPath(dataRef: dataRef, part: part, slot: slot)) }
    }

    func shardSource(dataRef: [UInt8], part: Int, slot: Int, inline: Bool, prefetch: InlinePrefetch) -> ShardSource? {
        guard online, let catalog else { return nil }
        if inline {
            return .fetch {
                prefetch.take(.init(dataRef: dataRef, part: part, slot: slot))
                    ?? (try? catalog.inlineShard(dataRef: dataRef, part: part, slot: slot)) ?? nil
            }
        }
        return ShardFile.openForReading(layout.shardPath(dataRef: dataRef, part: part, slot: slot)).map { .file($0) }
    }

    func fenceBucket(_ bucketID: [UInt8], token: [UInt8], untilMs: UInt64?, open: Bool) async throws {
        guard let catalog = open ? catalogInOrOut : catalog else { throw DriveUnavailable(drive: path) }
        try await track { try await catalog.fence(bucketID: bucketID, token: token, untilMs: untilMs, open: open) }
    }

    func condemn(dataRef: [UInt8], token: [UInt8]) async throws {
        guard online, let catalog else { throw DriveUnavailable(drive: path) }
        try await catalog.condemn(dataRef: dataRef, token: token)
    }

    func accepted(_ key: RegisterKey) async throws -> AcceptedValue? {
        guard let catalog = catalogInOrOut else { throw DriveUnavailable(drive: path) }
        return try catalog.record(key)?.accepted
    }

    func stillCondemned(dataRef: [UInt8], token: [UInt8]) async throws -> Bool {
        guard let catalog = catalogInOrOut else { throw DriveUnavailable(drive: path) }
        return try await catalog.isCondemned(dataRef: dataRef, token: token)
    }

    func collect(dataRef: [UInt8], token: [UInt8], slot: Int, fileParts: [Int]) async {
        // The row says which files it has (rows staged before it did: the caller's list).
        guard let catalog = catalogInOrOut, let recorded = try? await catalog.collect(dataRef: dataRef, token: token) else { return }
        for part in Set(fileParts).union(recorded) { unlink(layout.shardPath(dataRef: dataRef, part: part, slot: slot)) }
    }

    func release(dataRef: [UInt8], token: [UInt8]) async {
        try? await catalogInOrOut?.release(dataRef: dataRef, token: token)
    }
}
