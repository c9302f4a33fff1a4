import Foundation
public import StowageCore

/// Buckets are registers in the system set (CLUSTER.md §6): `bucket/<name>` holds the
/// bucket's ID, owner and region; objects are keyed by the ID, so a bucket deleted and
/// created again never shows old objects.
extension ClusterBackend {
    static let systemScope: [UInt8] = [0]

    static func bucketKey(_ name: String) -> RegisterKey { RegisterKey(scope: systemScope, key: "bucket/" + name) }

    /// The bucket's record, read with the register's read rule (never from a cache that
    /// could answer NoSuchBucket for a bucket that exists). Object requests take a cached
    /// record (a lease of 5 s, CLUSTER.md §6, which a DeleteBucket through any node ends at
    /// once on every node it reaches); `fresh` reads the register regardless.
    func bucketRecord(_ name: String, state: State, fresh: Bool = false) async throws -> BucketRecord {
        if !fresh, let cached = bucketCache.lookup(name) { return cached }
        let generation = bucketCache.generation(name)
        let outcome = await state.sets[0].coordinator.read(key: Self.bucketKey(name))
        guard let value = try Self.resolve(outcome), !value.value.tombstone else {
            throw S3Error(.noSuchBucket).with("BucketName", name)
        }
        let record = try Self.decodeOrFail { try BucketRecord.decode(value.value) }
        bucketCache.store(record, readAt: generation)
        return record
    }

    public func listBuckets() async throws -> [BucketInfo] {
        let state = try openState()
        let names = try await candidateKeys(in: state.sets[0], scope: Self.systemScope, prefix: Array("bucket/".utf8))
        var buckets: [BucketInfo] = []
        for key in names {
            let name = String(decoding: key.dropFirst("bucket/".utf8.count), as: UTF8.self)
            do {
                buckets.append(try await bucketRecord(name, state: state).info)
            } catch let error as S3Error where error.code == .noSuchBucket {
                continue  // a candidate whose chosen value is a tombstone
            }
        }
        return buckets.sorted { $0.name < $1.name }
    }

    /// Keys any drive of `set` holds a live value for, from at least R drives (a key chosen
    /// live sits on Q drives, and every R meets every Q); 503 when fewer answer. Candidates
    /// are then resolved with the read rule.
    func candidateKeys(in set: ErasureSet, scope: [UInt8], prefix: [UInt8] = []) async throws -> [[UInt8]] {
        var keys = Set<[UInt8]>()
        var answered = 0
        // Every drive of the set, wherever it lives, through its replica's listRange verb.
        for replica in set.coordinator.replicas where replica.isOnline {
            var after: [UInt8]?
            var listed = false
            while true {
                guard case .rows(let rows, let complete)? = await replica.listRange(
                    ListRangeRequest(scope: scope, prefix: prefix, after: after)) else { break }
                keys.formUnion(rows.filter { !$0.accepted.value.tombstone }.map(\.key))
                guard !complete, let last = rows.last else {
                    listed = true
                    break
                }
                after = last.key
            }
            if listed { answered += 1 }
        }
        let n = set.drives.count
        let readQuorum = n - (n / 2 + 1) + 1
        guard answered >= readQuorum else {
            throw S3Error(.serviceUnavailable, message: "Only \(answered) of the \(n) drives of erasure set \(set.index) answered; \(readQuorum) are needed.")
        }
        return keys.sorted { $0.lexicographicallyPrecedes($1) }
    }

    public func createBucket(_ name: String, owner: S3Identity, region: String) async throws -> BucketInfo {
        let state = try openState()
        guard BucketNames.isValid(name) else { throw S3Error(.invalidBucketName).with("BucketName", name) }
        let record = BucketRecord(
            id: Data((0..<16).map { _ in UInt8.random(in: 0...255) }), name: name, ownerID: owner.canonicalUserID,
            region: region, createdMs: S3Timestamp.now.millisecondsSinceEpoch)
        let value = RegisterValue(writeID: .random(), payload: Array(try JSONEncoder().encode(record)))
        let outcome = await state.sets[0].coordinator.compareAndSet(key: Self.bucketKey(name)) { current in
            guard let current, !current.value.tombstone else { return .write(value) }
            return .refuse
        }
        switch outcome {
        case .written:
            bucketCache.invalidate(name)
            storedChanged()
            return record.info
        case .preconditionFailed(let current):
            let existing = current.flatMap { try? BucketRecord.decode($0.value) }
            throw existing?.ownerID == owner.canonicalUserID
                ? S3Error(.bucketAlreadyOwnedByYou).with("BucketName", name)
                : S3Error(.bucketAlreadyExists).with("BucketName", name)
        default:
            _ = try Self.resolve(outcome)
            throw S3Error(.internalError)
        }
    }

    public func bucket(_ name: String) async throws -> BucketInfo {
        try await bucketRecord(name, state: try openState()).info
    }

    /// DeleteBucket with the fence of CLUSTER.md §6 (F11), so that a PUT racing the delete is
    /// either refused or found: (1) every drive of every set closes the bucket's object keys,
    /// under a lease; Q drives of each set must, and then at most n − Q < Q drives still vote
    /// on them, so no write of the bucket can be chosen any more; (2) each set is listed with
    /// the read rule, which finds every write chosen before; (3) a live key reopens the
    /// fences, BucketNotEmpty; otherwise the bucket's uploads are aborted, its register
    /// tombstoned, and the fences made permanent (bucket IDs are never reused).
    public func deleteBucket(_ name: String) async throws {
        let state = try openState()
        let record = try await bucketRecord(name, state: state, fresh: true)
        let scope = Array(record.id)
        let lease = WallClock.nowMs() + 120_000
        var closed = true
        for set in state.sets where await fence(scope, in: set, untilMs: lease) < state.quorum.writeQuorum {
            closed = false
        }
        guard closed else {
            await reopen(scope, state: state)
            throw S3Error(.serviceUnavailable, message: "Not enough drives answered to delete the bucket safely; retry.")
        }
        do {
            for set in state.sets {
                // The first live key of the set, resolved with the read rule, is enough.
                var keys = SetKeySource(set: set, scope: scope, prefix: [], readQuorum: state.quorum.readQuorum)
                if try await keys.next() != nil { throw S3Error(.bucketNotEmpty).with("BucketName", name) }
            }
            _ = try await abortUploads(bucket: name)
            bucketCache.invalidate(name)
            defer { bucketCache.invalidate(name) }
            let tombstone = RegisterValue(writeID: .random(), tombstone: true)
            let outcome = await state.sets[0].coordinator.compareAndSet(key: Self.bucketKey(name)) { current in
                guard let current, !current.value.tombstone,
                      (try? BucketRecord.decode(current.value))?.id == record.id else { return .refuse }
                return .write(tombstone)
            }
            if case .preconditionFailed = outcome { throw S3Error(.noSuchBucket).with("BucketName", name) }
            _ = try Self.resolve(outcome)
        } catch {
            await reopen(scope, state: state)
            throw error
        }
        storedChanged()
        for set in state.sets { _ = await fence(scope, in: set, untilMs: nil) }
        await announceBucketChange(name, state: state)
    }

    /// Closes the bucket on every drive of `set` in rotation; how many did.
    private func fence(_ bucketID: [UInt8], in set: ErasureSet, untilMs: UInt64?) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for case let drive? in set.drives where drive.online {
                group.addTask { (try? await drive.fenceBucket(bucketID, untilMs: untilMs, open: false)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    /// Opens the bucket again on every drive that can be reached (the lease opens the rest).
    private func reopen(_ bucketID: [UInt8], state: State) async {
        await withTaskGroup(of: Void.self) { group in
            for set in state.sets {
                for case let drive? in set.drives {
                    group.addTask { try? await drive.fenceBucket(bucketID, untilMs: nil, open: true) }
                }
            }
        }
    }

    /// The value of a finished register operation, or the S3 error it earns: 503 with the
    /// coordinator's reason when no quorum answered.
    static func resolve(_ outcome: RegisterOperation.Outcome) throws -> AcceptedValue? {
        switch outcome {
        case .found(let value), .written(let value as AcceptedValue?), .preconditionFailed(let value): return value
        case .unavailable(let reason): throw S3Error(.serviceUnavailable, message: "Not enough drives answered: \(reason).")
        case .outcomeUnknown(let reason): throw S3Error(.slowDown, message: "The write's outcome is unknown (\(reason)); retry it.")
        }
    }

    static func decodeOrFail<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw S3Error(.internalError, message: "A stored record does not decode: \(error)")
        }
    }
}
