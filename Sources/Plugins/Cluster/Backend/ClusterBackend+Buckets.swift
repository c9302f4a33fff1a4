import Foundation
public import StowageCore
import Logging

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
            region: region, createdMs: S3Timestamp.now.millisecondsSinceEpoch, pool: state.pools.count > 1 ? poolForNewBucket(state) : nil)
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
    /// either refused or found:
    /// 1. every drive of every set closes the bucket's object keys under a token of this run
    ///    and a lease of 120 s; Q drives of each set must, and then at most n − Q < Q drives
    ///    still vote on them, so no write of the bucket can be chosen any more;
    /// 2. each set is listed with the read rule from fenced drives only: any R of them meet
    ///    every write chosen before (a chosen write has accepts on all but n − Q of them);
    /// 3. a live key, an error, or a run that took half the lease reopens this run's fences
    ///    (BucketNotEmpty, 503); otherwise the bucket's uploads go, its register is tombstoned
    ///    (an unknown outcome is resolved before anything reopens), and the fences are made
    ///    permanent (bucket IDs are never reused).
    public func deleteBucket(_ name: String) async throws {
        let state = try openState()
        let record = try await bucketRecord(name, state: state, fresh: true)
        let scope = Array(record.id), token = WriteID.random().bytes
        // The bucket's keys live in its pool's sets only.
        let sets = try await pool(of: record, state: state).1.sets(ofPool: record.pool)
        let started = ContinuousClock.now
        let lease = WallClock.nowMs() + 120_000
        var fenced: [Set<Int>] = []
        for set in sets { fenced.append(await fence(scope, token: token, in: set, untilMs: lease)) }
        guard fenced.allSatisfy({ $0.count >= state.quorum.writeQuorum }) else {
            await reopen(scope, token: token, sets: sets)
            throw S3Error(.serviceUnavailable, message: "Not enough drives answered to delete the bucket safely; retry.")
        }
        do {
            for (set, slots) in zip(sets, fenced) {
                // The first live key of the set, resolved with the read rule, is enough.
                var keys = SetKeySource(set: set, scope: scope, prefix: [], readQuorum: state.quorum.readQuorum, only: slots, needsValues: false)
                if try await keys.next() != nil { throw S3Error(.bucketNotEmpty).with("BucketName", name) }
            }
            // No object of the bucket can be chosen now: its uploads go as they are.
            _ = try await abortUploads(bucket: name, force: true)
            guard ContinuousClock.now - started < .seconds(60) else {
                throw S3Error(.serviceUnavailable, message: "Deleting the bucket took too long to be safe; retry.")
            }
        } catch {
            await reopen(scope, token: token, sets: sets)
            throw error
        }
        bucketCache.invalidate(name)
        defer { bucketCache.invalidate(name) }
        let tombstone = RegisterValue(writeID: .random(), tombstone: true)
        let outcome = await state.sets[0].coordinator.compareAndSet(key: Self.bucketKey(name)) { current in
            guard let current, !current.value.tombstone,
                  (try? BucketRecord.decode(current.value))?.id == record.id else { return .refuse }
            return .write(tombstone)
        }
        switch outcome {
        case .written:
            break
        case .preconditionFailed:
            await reopen(scope, token: token, sets: sets)
            throw S3Error(.noSuchBucket).with("BucketName", name)
        default:
            // The tombstone may yet be chosen: settle the register before reopening anything.
            let settled = await state.sets[0].coordinator.read(key: Self.bucketKey(name))
            guard case .found(let value) = settled else {
                // Undecided: this run's fences stay until their lease ends.
                _ = try Self.resolve(outcome)
                throw S3Error(.internalError)
            }
            if let value, !value.value.tombstone, (try? BucketRecord.decode(value.value))?.id == record.id {
                await reopen(scope, token: token, sets: sets)
                _ = try Self.resolve(outcome)
                throw S3Error(.internalError)
            }
        }
        storedChanged()
        // For good, on every drive that can be reached (a few tries each).
        for set in sets {
            var missing = Set(set.drives.indices)
            for _ in 0..<3 where !missing.isEmpty {
                missing.subtract(await fence(scope, token: Self.permanentFence, in: set, untilMs: nil, slots: missing))
            }
            if !missing.isEmpty {
                logger.warning("a deleted bucket's fence could not be made permanent on every drive", metadata: ["set": "\(set.index)", "slots": "\(missing.sorted())"])
            }
        }
        await announceBucketChange(name, state: state)
    }

    /// The token of fences for good (a deleted bucket's).
    static let permanentFence: [UInt8] = [0xFF]

    /// Closes the bucket on the drives of `set` in rotation (or those of `slots`); the slots that did.
    private func fence(_ bucketID: [UInt8], token: [UInt8], in set: ErasureSet, untilMs: UInt64?, slots: Set<Int>? = nil) async -> Set<Int> {
        await withTaskGroup(of: Int?.self) { group in
            for (slot, member) in set.drives.enumerated() where slots?.contains(slot) ?? true {
                guard let drive = member, drive.online else { continue }
                group.addTask { (try? await drive.fenceBucket(bucketID, token: token, untilMs: untilMs, open: false)) != nil ? slot : nil }
            }
            return await group.reduce(into: Set<Int>()) { if let slot = $1 { $0.insert(slot) } }
        }
    }

    /// Removes this run's fences on every drive that can be reached (the lease ends the rest).
    private func reopen(_ bucketID: [UInt8], token: [UInt8], sets: ArraySlice<ErasureSet>) async {
        await withTaskGroup(of: Void.self) { group in
            for set in sets {
                for case let drive? in set.drives {
                    group.addTask { try? await drive.fenceBucket(bucketID, token: token, untilMs: nil, open: true) }
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
