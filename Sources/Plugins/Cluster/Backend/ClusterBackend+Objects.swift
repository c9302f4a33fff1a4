import Foundation
import NIOCore
public import StowageCore
import StowageErasure
import Synchronization

/// Objects (CLUSTER.md §2–4): PUT streams the body into shards on the key's set as it
/// arrives, stages them on the drives, then writes the manifest register; GET resolves the
/// manifest with the read rule and decodes only the chunks the range needs.
extension ClusterBackend {
    struct Located: Sendable {
        let set: ErasureSet
        let key: RegisterKey
        /// The slots of the first data shards: a read asks these drives first, since their
        /// answers bring their inline shards along.
        var readFirst: [Int] = []
    }

    func locate(_ address: ObjectAddress, state: State) async throws -> Located {
        let bucket = try await bucketRecord(address.bucket, state: state)
        let scope = Array(bucket.id)
        let (pool, current) = try await pool(of: bucket, state: state)
        let set = current.sets[pool.range.lowerBound + pool.placement.set(bucketID: scope, key: address.key)]
        let order = pool.placement.shardOrder(key: address.key)
        return Located(set: set, key: RegisterKey(scope: scope, key: address.key), readFirst: Array(order.prefix(state.quorum.readQuorum)))
    }

    /// The chosen manifest of a key (nil: no live version).
    func currentManifest(_ located: Located) async throws -> ObjectManifest? {
        guard let value = try Self.resolve(await located.set.coordinator.read(key: located.key, prefer: located.readFirst)),
              !value.value.tombstone else {
            return nil
        }
        if let cached = manifestCache.lookup(value.value.writeID) { return cached }
        let manifest = try Self.decodeOrFail { try ObjectManifest.decode(value.value) }
        manifestCache.store(manifest, for: value.value.writeID)
        return manifest
    }

    public func putObject(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions) async throws -> ObjectInfo {
        try await put(address, body: body, options: options)
    }

    /// `computing`: a checksum of this algorithm is computed over the body and stored (a copy
    /// of a multipart object, whose composite checksum describes parts the copy does not have).
    func put(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions, computing: ChecksumAlgorithm? = nil) async throws -> ObjectInfo {
        let state = try openState()
        try ObjectKeys.validate(address.key)
        let located = try await locate(address, state: state)
        if !options.conditions.isEmpty {
            // Fail fast before reading the body; checked again in the register write.
            try options.conditions.check(current: try await currentManifest(located)?.info())
        }
        // Two 8-byte draws, not sixteen: each draw is a getrandom system call.
        let versionID = WriteID.random().bytes
        let ingest = BodyIngest(maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5, computing: computing)
        let staged = try await stage(body: body, ingest: ingest, expectedSize: options.expectedSize, versionID: versionID, located: located, state: state)
        let manifest = ObjectManifest(
            versionID: Data(versionID), key: address.key, size: staged.checked.size, etag: Hex.string(staged.checked.md5),
            lastModifiedMs: S3Timestamp.now.millisecondsSinceEpoch, ownerID: options.owner.canonicalUserID,
            metadata: ObjectManifest.metadata(options.metadata),
            checksum: computing.flatMap { algorithm in
                staged.checked.checksum.map { ObjectManifest.Checksum(algorithm: algorithm.rawValue, value: Data($0), type: ChecksumType.fullObject.rawValue) }
            } ?? options.checksum.flatMap { checksum in
                checksum.value.map { ObjectManifest.Checksum(algorithm: checksum.algorithm.rawValue, value: Data($0), type: ChecksumType.fullObject.rawValue) }
            },
            parts: [staged.part])
        return try await commitManifest(manifest, dataRef: versionID, located: located, needed: staged.needed, conditions: options.conditions)
    }

    /// Writes an object version's manifest once its data is staged (blind, or a
    /// compare-and-set under `conditions`), then settles the staged data: discarded when no
    /// value can reference it, left to the collector when the outcome is unknown.
    /// `firstBallot`, `attempts`: see ``RegisterCoordinator/write(_:key:dataQuorum:firstBallot:attempts:)``.
    func commitManifest(
        _ manifest: ObjectManifest, dataRef versionID: [UInt8], located: Located, needed: Int, conditions: WriteConditions,
        firstBallot: Ballot? = nil, attempts: Int = 4
    ) async throws -> ObjectInfo {
        let value = RegisterValue(writeID: .random(), payload: try manifest.encoded(), dataRef: versionID)
        let outcome: RegisterOperation.Outcome
        if conditions.isEmpty {
            outcome = await located.set.coordinator.write(value, key: located.key, dataQuorum: needed, firstBallot: firstBallot, attempts: attempts)
        } else {
            outcome = await located.set.coordinator.compareAndSet(key: located.key, dataQuorum: needed, firstBallot: firstBallot, attempts: attempts) { current in
                let info = Self.liveInfo(current)
                return (try? conditions.check(current: info)) != nil ? .write(value) : .refuse
            }
        }
        switch outcome {
        case .written:
            storedChanged()
            manifestCache.store(manifest, for: value.writeID)
            return manifest.info()
        case .preconditionFailed(let current):
            await discard(versionID, located: located, parts: manifest.parts)
            try conditions.check(current: Self.liveInfo(current))
            throw S3Error(.preconditionFailed)
        case .unavailable(let reason):
            // Every drive refused: nothing references the staged data.
            await discard(versionID, located: located, parts: manifest.parts)
            if attempts == 1 { throw WriteRefused(reason: reason) }
            _ = try Self.resolve(outcome)
            throw S3Error(.internalError)
        default:
            // Outcome unknown: the data may be referenced; the reference rule decides.
            collectLater(versionID, located: located, parts: manifest.parts)
            _ = try Self.resolve(outcome)
            throw S3Error(.internalError)
        }
    }

    /// A single-attempt manifest write (`attempts: 1`) that no quorum accepted: nothing of it
    /// took effect, and its data is discarded; the caller may start again under a new ballot.
    struct WriteRefused: Error, CustomStringConvertible {
        let reason: String
        var description: String { "the write was refused: \(reason)" }
    }

    static func liveInfo(_ value: AcceptedValue?) -> ObjectInfo? {
        guard let value, !value.value.tombstone else { return nil }
        return try? ObjectManifest.decode(value.value).info()
    }

    public func getObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        try await read(address, options: options, content: true)
    }

    public func headObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        try await read(address, options: options, content: false)
    }

    private func read(_ address: ObjectAddress, options: GetObjectOptions, content: Bool) async throws -> ObjectReadResult {
        let state = try openState()
        let located = try await locate(address, state: state)
        guard let manifest = try await currentManifest(located) else { throw S3Error(.noSuchKey).with("Key", address.key) }
        let info = manifest.info()
        try options.conditions.enforce(on: info)
        let parts = manifest.objectParts
        let range = try options.servedRange(size: manifest.size, parts: parts)
        let partChecksum = options.partChecksum(parts: parts, objectChecksum: info.checksum)
        func result(_ content: ObjectContent) -> ObjectReadResult {
            ObjectReadResult(info: info, range: range, content: content, partChecksum: partChecksum, parts: parts)
        }
        guard manifest.size > 0, !manifest.parts.isEmpty else { return result(content ? .bytes(ByteBuffer()) : .none) }
        let bytes = range.map { $0.first..<($0.last + 1) } ?? 0..<manifest.size
        // HEAD checks the shards as GET does, so it never answers 200 for an object GET cannot serve.
        let sequence = try manifestBytes(manifest, set: located.set, range: bytes)
        guard content else { return result(.none) }
        if bytes.count <= self.options.inlineLimit {
            // Small: decode now, so a shard that fails its checksums becomes a clean 503.
            var buffer = ByteBuffer()
            do {
                for try await piece in sequence { buffer.writeImmutableBuffer(piece) }
            } catch {
                throw S3Error(.serviceUnavailable, message: "\(error)")
            }
            return result(.bytes(buffer))
        }
        return result(.stream(S3Body(stream: sequence, length: Int64(bytes.count)), length: Int64(bytes.count)))
    }

    /// The bytes `range` of an object version, part after part.
    func manifestBytes(_ manifest: ObjectManifest, set: ErasureSet, range: Range<Int64>) throws -> PartChainSequence {
        let parts = manifest.parts, versionID = Array(manifest.versionID)
        return try PartChainSequence(pieces: PartChainSequence.pieces(sizes: parts.map(\.size), range: range)) { index, range in
            try self.objectBytes(parts[index], versionID: versionID, set: set, range: range)
        }
    }

    /// The bytes `range` of a stored part, streamed. Every shard is opened now, so a
    /// concurrent overwrite cannot take the bytes from under the read; fewer than k shards
    /// that can be read is a 503.
    func objectBytes(_ part: ObjectManifest.Part, versionID: [UInt8], set: ErasureSet, range: Range<Int64>) throws -> ErasureReadSequence {
        let sources = shardSources(part, versionID: versionID, set: set)
        let available = sources.compactMap { $0 }.count
        guard available >= part.dataShards else {
            throw S3Error(.serviceUnavailable, message: "Only \(available) of the object's \(part.dataShards + part.parityShards) shards can be read; \(part.dataShards) are needed.")
        }
        let geometry = try StripeGeometry(
            dataShards: part.dataShards, parityShards: part.parityShards, chunkSize: part.chunkSize, objectSize: part.size)
        let counters = self.counters, degraded = OnceFlag()
        return ErasureReadSequence(geometry: geometry, sources: sources, range: range) { _ in
            counters.reconstructedChunks.add(1, ordering: .relaxed)
            if degraded.first() { counters.degradedReads.add(1, ordering: .relaxed) }
        }
    }

    func shardSources(_ part: ObjectManifest.Part, versionID: [UInt8], set: ErasureSet) -> [ShardSource?] {
        part.slots.map { slot in
            set.drives[slot]?.shardSource(dataRef: versionID, part: part.number, slot: slot, inline: part.inline, prefetch: prefetch)
        }
    }

    public func deleteObject(_ address: ObjectAddress, conditions: WriteConditions) async throws {
        let state = try openState()
        let located = try await locate(address, state: state)
        let tombstone = RegisterValue(writeID: .random(), tombstone: true)
        if conditions.isEmpty {
            // Deleting a key with no live version writes nothing.
            guard try await currentManifest(located) != nil else { return }
            _ = try Self.resolve(await located.set.coordinator.write(tombstone, key: located.key))
            storedChanged()
            return
        }
        let outcome = await located.set.coordinator.compareAndSet(key: located.key) { current in
            (try? conditions.check(current: Self.liveInfo(current))) != nil && Self.liveInfo(current) != nil ? .write(tombstone) : .refuse
        }
        if case .preconditionFailed(let current) = outcome {
            try conditions.check(current: Self.liveInfo(current))
            return  // absent with no If-Match: nothing to delete
        }
        _ = try Self.resolve(outcome)
        storedChanged()
    }
}
