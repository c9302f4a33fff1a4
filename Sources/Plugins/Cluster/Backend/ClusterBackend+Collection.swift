import Foundation
import Synchronization

/// Collecting the data of writes whose outcome is unknown, under ``DataCollectionRule``
/// (CLUSTER.md §3, F6). Such a write may have been chosen, or may be rolled forward by a
/// later read, so its data stays until the rule proves nothing can reference it.
///
/// Jobs live in memory: a node that stops before their grace period passes leaves that data
/// on its drives for the scanner (issue 13), which finds staged rows nothing references. A
/// run that dies between condemning and deciding leaves condemnations that expire on their
/// own (``DriveCatalog/condemnationLeaseMs``).
extension ClusterBackend {
    struct CollectionJob: Sendable {
        let versionID: [UInt8]
        let located: Located
        let parts: [ObjectManifest.Part]
        var due: ContinuousClock.Instant
        var attempts = 0
    }

    /// Queues a write's data for collection once `options.collectionGrace` has passed (the
    /// grace lets GETs that resolved the version finish, CLUSTER.md invariant 2 (d)).
    func collectLater(_ versionID: [UInt8], located: Located, parts: [ObjectManifest.Part]) {
        let job = CollectionJob(versionID: versionID, located: located, parts: parts, due: .now + options.collectionGrace)
        collections.withLock { $0.append(job) }
    }

    /// Runs the jobs that are due. A job whose set could not answer in full is tried again
    /// later, a few times; one whose data is referenced is dropped (the data is live).
    func collectDueData() async {
        let now = ContinuousClock.now
        let due = collections.withLock { jobs -> [CollectionJob] in
            let ready = jobs.filter { $0.due <= now }
            jobs.removeAll { $0.due <= now }
            return ready
        }
        for var job in due {
            // One run per data ref on this node (the scanner may hold a note on it too): a job
            // whose data is being collected already waits for that run to end.
            guard collecting.withLock({ $0.insert(job.versionID).inserted }) else {
                job.due = .now + .seconds(30)
                collections.withLock { $0.append(job) }
                continue
            }
            let admitted = await collectionPacer.admit()
            let verdict = admitted ? await collect(job) : .keep(.driveSilent)
            _ = collecting.withLock { $0.remove(job.versionID) }
            guard admitted else { return }
            guard verdict == .keep(.driveSilent), job.attempts < 5 else { continue }
            job.attempts += 1
            job.due = .now + .seconds(30 * job.attempts)
            collections.withLock { $0.append(job) }
        }
    }

    /// One pass of the rule over one write's data: settle the key, condemn the data on every
    /// drive of the set and read each after its condemnation, decide, confirm every
    /// condemnation still holds, then delete or release.
    ///
    /// Settling is a read that always writes back, at a fresh ballot C of its own, the newest
    /// value a quorum holds (a tombstone when there is none): a plain read could return a
    /// value chosen at ballot c while another reader, prepared at a ballot between c and now,
    /// is about to choose the very data being collected (found in review). Once C is chosen,
    /// nothing prepared below C can be, and the data can come back above C only through
    /// accepts that carry it (a writer whose accept at a ballot above C is still in flight),
    /// which the condemnation refuses. A condemnation is a lease of each drive's clock, so
    /// the run must finish while every lease holds: it gives up past half the lease, and
    /// confirms every lease just before the first delete (one drive whose lease lapsed could
    /// adopt a late accept while the others delete their shards).
    func collect(_ job: CollectionJob) async -> DataCollectionRule.Verdict {
        let set = job.located.set
        // Every drive must answer in the end: with one away, nothing is settled or condemned.
        guard set.drives.allSatisfy({ $0?.online == true }) else { return .keep(.driveSilent) }
        // A deleted bucket's keys take no vote (its fences are for good), so nothing can
        // settle them, and nothing can be chosen under its ID or read through it again: once
        // every drive answers, its data goes unsettled.
        let bucketDeleted = await bucketDeletedForGood(job.located)
        var chosen: AcceptedValue?
        if !bucketDeleted {
            let settled = await set.coordinator.compareAndSet(key: job.located.key) { current in
                .write(current?.value ?? RegisterValue(writeID: .random(), tombstone: true))
            }
            guard case .written(let value) = settled else { return .keep(.driveSilent) }
            chosen = value
        }
        let token = Array(UUID().uuidString.utf8)
        let started = ContinuousClock.now
        // By slot: the drive's view, and whether a condemn was sent to it (whatever came back:
        // an unknown outcome may have condemned it, and it must be released).
        let answers = await withTaskGroup(of: (Int, DataCollectionRule.DriveView, Bool).self) { group in
            for (slot, drive) in set.drives.enumerated() {
                group.addTask {
                    guard let drive, drive.online else { return (slot, .silent, false) }
                    guard (try? await drive.condemn(dataRef: job.versionID, token: token)) != nil else { return (slot, .silent, true) }
                    // Read after this drive's condemnation: an accept that adopted the data
                    // before it is in this answer; one after it is refused.
                    guard let accepted = try? await drive.accepted(job.located.key) else { return (slot, .silent, true) }
                    return (slot, .accepted(accepted), true)
                }
            }
            return await group.reduce(into: [Int: (DataCollectionRule.DriveView, Bool)]()) { $0[$1.0] = ($1.1, $1.2) }
        }
        let views = set.drives.indices.map { answers[$0]?.0 ?? .silent }
        let tried = set.drives.indices.filter { answers[$0]?.1 ?? false }
        var verdict = DataCollectionRule.verdict(dataRef: job.versionID, writerFenced: true, chosen: chosen, drives: views)
        if bucketDeleted { verdict = views.contains(.silent) ? .keep(.driveSilent) : .collect }
        if verdict == .collect {
            let leaseLeft = ContinuousClock.now - started < .milliseconds(Int64(DriveCatalog.condemnationLeaseMs / 2))
            let confirmed = await withTaskGroup(of: Bool.self) { group in
                for slot in tried {
                    group.addTask { (try? await set.drives[slot]?.stillCondemned(dataRef: job.versionID, token: token)) == true }
                }
                return await group.allSatisfy { $0 }
            }
            if !leaseLeft || !confirmed { verdict = .keep(.driveSilent) }
        }
        if verdict == .collect { counters.collected.add(1, ordering: .relaxed) }
        for slot in tried {
            guard let drive = set.drives[slot] else { continue }
            if verdict == .collect {
                await drive.collect(dataRef: job.versionID, token: token, slot: slot, fileParts: Self.fileParts(job.parts, slot: slot))
            } else {
                await drive.release(dataRef: job.versionID, token: token)
            }
        }
        return verdict
    }

    /// Whether a drive of this node in the key's set holds the bucket's fence for good: made
    /// only after the bucket's register was tombstoned (DeleteBucket succeeded).
    private func bucketDeletedForGood(_ located: Located) async -> Bool {
        for case let drive as ClusterDrive in located.set.drives.compactMap({ $0 }) {
            if (try? await drive.catalog?.isDeletedForGood(bucketID: located.key.scope)) == true { return true }
        }
        return false
    }
}
