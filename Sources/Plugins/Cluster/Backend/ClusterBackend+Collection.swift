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
        let part: ObjectManifest.Part
        var due: ContinuousClock.Instant
        var attempts = 0
    }

    /// Queues a write's data for collection once `options.collectionGrace` has passed (the
    /// grace lets GETs that resolved the version finish, CLUSTER.md invariant 2 (d)).
    func collectLater(_ versionID: [UInt8], located: Located, part: ObjectManifest.Part) {
        let job = CollectionJob(versionID: versionID, located: located, part: part, due: .now + options.collectionGrace)
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
            let verdict = await collect(job)
            guard verdict == .keep(.driveSilent), job.attempts < 5 else { continue }
            job.attempts += 1
            job.due = .now + .seconds(30 * job.attempts)
            collections.withLock { $0.append(job) }
        }
    }

    /// One pass of the rule over one write's data: settle the key, condemn the data on every
    /// drive of the set, read every drive, then delete or release.
    ///
    /// Settling is a read that always writes back, at a fresh ballot C of its own, the newest
    /// value a quorum holds (a tombstone when there is none): a plain read could return a
    /// value chosen at ballot c while another reader, prepared at a ballot between c and now,
    /// is about to choose the very data being collected (found in review). Once C is chosen,
    /// nothing prepared below C can be, and the data can come back above C only through
    /// accepts that carry it, which the condemnation refuses.
    func collect(_ job: CollectionJob) async -> DataCollectionRule.Verdict {
        let set = job.located.set
        let settled = await set.coordinator.compareAndSet(key: job.located.key) { current in
            .write(current?.value ?? RegisterValue(writeID: .random(), tombstone: true))
        }
        guard case .written(let chosen) = settled else { return .keep(.driveSilent) }
        var condemned: [(slot: Int, drive: any SetDrive)] = []
        var views: [DataCollectionRule.DriveView] = []
        for (slot, drive) in set.drives.enumerated() {
            guard let drive, drive.online, (try? await drive.condemn(dataRef: job.versionID)) != nil else {
                views.append(.silent)
                continue
            }
            condemned.append((slot, drive))
            // Read after this drive's condemnation: an accept that adopted the data before
            // it is in this answer; one after it is refused.
            do {
                views.append(.accepted(try await drive.accepted(job.located.key)))
            } catch {
                views.append(.silent)
            }
        }
        let verdict = DataCollectionRule.verdict(dataRef: job.versionID, writerFenced: true, chosen: chosen, drives: views)
        for (slot, drive) in condemned {
            if verdict == .collect {
                await drive.collect(dataRef: job.versionID, part: job.part.number, slot: slot, file: !job.part.inline)
            } else {
                await drive.release(dataRef: job.versionID)
            }
        }
        return verdict
    }
}
