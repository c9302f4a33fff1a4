import Foundation
import Synchronization
import NIOCore
import StowageCore
import StowageErasure

/// The data half of a PUT (CLUSTER.md §2, §4): the body is coded into shards on the set's
/// live drives while it streams in, the shard files are synced (with fsync on), and every
/// drive that holds its shard records it in its catalog. Only then may the register accept
/// the manifest (invariant 1: no accept before W_data drives hold the data).
extension ClusterBackend {
    struct Staged: Sendable {
        var checked: BodyIngest.Checked
        var part: ObjectManifest.Part
        /// W_data for this write.
        var needed: Int
    }

    func stage(body: S3Body, options: PutObjectOptions, versionID: [UInt8], located: Located, state: State) async throws -> Staged {
        let ingest = BodyIngest(maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5)
        return try await stage(body: body, ingest: ingest, expectedSize: options.expectedSize, versionID: versionID, located: located, state: state)
    }

    /// `ingest` checks the body (and computes a checksum when asked); `expectedSize` is its
    /// declared length, if any.
    ///
    /// `owner`: the register that will reference the data, when not `located`'s (a part's).
    func stage(
        body: S3Body, ingest: BodyIngest, expectedSize: Int64?, versionID: [UInt8], located: Located, owner: RegisterKey? = nil, state: State
    ) async throws -> Staged {
        let set = located.set
        let owner = owner ?? located.key
        let offline = set.offline
        guard state.quorum.canWriteData(offline: offline) else {
            counters.quorumFailures.add(1, ordering: .relaxed)
            throw S3Error(.serviceUnavailable, message: "\(offline) of the \(set.drives.count) drives of erasure set \(set.index) are offline; a write needs \(state.quorum.dataDrivesNeeded(offline: offline)) with the data and \(state.quorum.writeQuorum) in the quorum.")
        }
        let stripe = state.quorum.stripe(offline: offline)
        let needed = state.quorum.dataDrivesNeeded(offline: offline)
        let code = try ReedSolomon(dataShards: stripe.dataShards, parityShards: stripe.parityShards)
        // From the set itself: `state` may predate the pool `located` was found in.
        let slots = Placement.shardOrder(key: String(decoding: located.key.key, as: UTF8.self), setSize: set.drives.count)
        let drives = set.drives
        // Only a drive in rotation when the write starts is tried; a shard "failed" on one
        // that was out is not that drive's failure, even if it is back by the end.
        let tried = slots.map { drives[$0]?.online ?? false }
        let chunkSize = state.format.chunkSize, inlineLimit = self.options.inlineLimit
        let makeWriter: @Sendable () -> ErasureWriter = {
            ErasureWriter(code: code, chunkSize: chunkSize, inlineLimit: inlineLimit, needed: needed) { shard in
                let slot = slots[shard]
                guard let drive = drives[slot], drive.online else {
                    throw ShardFile.Failure(operation: "create", path: "slot \(slot)", code: EIO)
                }
                return try drive.createShard(dataRef: versionID, part: 1, slot: slot)
            }
        }
        let shards: [ErasureWriter.Shard]
        let checked: BodyIngest.Checked
        do {
            (checked, shards) = try await Self.codeAndWrite(
                body, ingest: ingest, makeWriter: makeWriter, durable: self.options.fsync, chunkSize: chunkSize,
                heavy: Offload.isHeavy(declaredSize: expectedSize))
        } catch let error as ErasureWriter.TooFewDrives {
            counters.quorumFailures.add(1, ordering: .relaxed)
            await removeFiles(versionID, slots: slots, set: set)
            throw S3Error(.serviceUnavailable, message: "The write could not reach enough drives: \(error).")
        } catch {
            await removeFiles(versionID, slots: slots, set: set)
            throw error
        }
        for (shard, written) in shards.enumerated() {
            guard let drive = drives[slots[shard]] else { continue }
            // A drive already out of rotation was never tried: that is not a new failure.
            if case .failed(let error) = written, tried[shard], drive.online { drive.record(error: error) }
        }
        let inline = shards.allSatisfy { if case .inline = $0 { return true } else { return false } }
        let part = ObjectManifest.Part(
            number: 1, size: checked.size, dataShards: stripe.dataShards, parityShards: stripe.parityShards,
            chunkSize: state.format.chunkSize, slots: slots, inline: inline)
        let now = WallClock.nowMs()
        let fileLength = try StripeGeometry(
            dataShards: stripe.dataShards, parityShards: stripe.parityShards, chunkSize: chunkSize, objectSize: checked.size
        ).shardFileLength
        let recorded = await withTaskGroup(of: Bool.self) { group in
            for (shard, written) in shards.enumerated() {
                guard written.isWritten, let drive = drives[slots[shard]] else { continue }
                let staged: StagedShard
                if case .inline(let bytes) = written {
                    staged = .inline(part: 1, slot: slots[shard], bytes: bytes)
                } else {
                    staged = .file(part: 1, slot: slots[shard], length: fileLength)
                }
                group.addTask { (try? await drive.stage(dataRef: versionID, owner: owner, shard: staged, wallMs: now)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        guard recorded >= needed else {
            counters.quorumFailures.add(1, ordering: .relaxed)
            await discard(versionID, located: located, parts: [part])
            throw S3Error(.serviceUnavailable, message: "Only \(recorded) drives stored the data; \(needed) are needed.")
        }
        return Staged(checked: checked, part: part, needed: needed)
    }

    /// Hashes the body and codes and writes its shards. A large body runs off the event loop
    /// in two tasks, hashing in one and coding and writing in the other, with at most two
    /// chunks between them: both cores work, memory stays bounded.
    static func codeAndWrite(
        _ body: S3Body, ingest start: BodyIngest, makeWriter: @escaping @Sendable () -> ErasureWriter, durable: Bool,
        chunkSize: Int, heavy: Bool
    ) async throws -> (BodyIngest.Checked, [ErasureWriter.Shard]) {
        var ingest = start
        guard heavy else {
            var writer = makeWriter()
            do {
                for try await buffer in body {
                    try ingest.take(buffer)
                    try await writer.write(buffer)
                }
                return (try ingest.finish(), try await writer.finish(sync: durable))
            } catch {
                writer.abandon()
                throw error
            }
        }
        return try await Offload.run(true) {
            let budget = ByteBudget(capacity: 2 * chunkSize)
            let (stream, feed) = AsyncStream<ByteBuffer>.makeStream()
            return try await withThrowingTaskGroup(of: ([ErasureWriter.Shard], Int64).self) { group in
                group.addTask {
                    var writer = makeWriter()
                    // Whatever ends this task, the producer must not wait for room again.
                    defer { budget.fail() }
                    do {
                        for await buffer in stream {
                            try await writer.write(buffer)
                            budget.release(buffer.readableBytes)
                        }
                        try Task.checkCancellation()
                        let shards = try await writer.finish(sync: durable)
                        return (shards, writer.size)
                    } catch {
                        writer.abandon()
                        throw error
                    }
                }
                do {
                    for try await buffer in body {
                        try ingest.take(buffer)
                        // False when the writer stopped; its error surfaces below.
                        guard await budget.acquire(buffer.readableBytes) else { break }
                        feed.yield(buffer)
                    }
                    feed.finish()
                    let (shards, written) = try await group.next()!
                    let checked = try ingest.finish()
                    // Never a shorter object than the body: the writer must have had every byte.
                    guard written == checked.size else {
                        throw S3Error(.internalError, message: "The body was not written whole (\(written) of \(checked.size) bytes).")
                    }
                    return (checked, shards)
                } catch {
                    feed.finish()
                    budget.fail()
                    group.cancelAll()
                    while (try? await group.next()) != nil {}
                    throw error
                }
            }
        }
    }

    /// Removes a write's staged data that no register value can reference (its write was
    /// refused by every drive, or never proposed).
    /// A drive's files go only once its catalog confirms no accept adopted them; a drive that
    /// cannot say keeps them for the collector.
    func discard(_ versionID: [UInt8], located: Located, parts: [ObjectManifest.Part]) async {
        for slot in Set(parts.flatMap(\.slots)) {
            await located.set.drives[slot]?.discard(dataRef: versionID, slot: slot, fileParts: Self.fileParts(parts, slot: slot))
        }
    }

    /// The parts whose shard in `slot` is a file.
    static func fileParts(_ parts: [ObjectManifest.Part], slot: Int) -> [Int] {
        parts.filter { !$0.inline && $0.slots.contains(slot) }.map(\.number)
    }

    /// A write that failed while coding: no drive staged anything, so every shard file goes.
    private func removeFiles(_ versionID: [UInt8], slots: [Int], set: ErasureSet) async {
        for slot in slots {
            await set.drives[slot]?.discard(dataRef: versionID, slot: slot, fileParts: [1])
        }
    }
}
