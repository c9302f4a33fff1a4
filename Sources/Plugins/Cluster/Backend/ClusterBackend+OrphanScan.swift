import Foundation
import Synchronization

/// The scanner of replaced data (CLUSTER.md §10, issue 13 item 5): the data of overwritten
/// and deleted objects and of parts uploaded again. Each drive notes, in the transaction of
/// the accept that replaced a value, the data that value referenced
/// (``DriveCatalog/noteOrphan(replaced:by:key:_:)``), and the scanner notes data staged long
/// ago that no accept adopted (a writer that died in between); this node's scanner hands
/// the notes of its own drives, once `collectionGrace` old, to the collector, which deletes
/// the data on every drive of the set only under the reference rule, and drops the notes
/// with it.
///
/// Every drive of the set that took the replacing accept holds the same note. A drive in a
/// later slot waits two scan intervals more per slot, so the first drive's run normally
/// collects the data and every note before the others look; a drive that was away finds its
/// own note when it is back, and that run removes what is left there.
extension UInt64 {
    func addingClamped(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    func multipliedClamped(by other: UInt64) -> UInt64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }

    func subtractingClamped(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}

extension ClusterBackend {
    /// One pass over this node's drives: every note that is due, paced by the collector's rate.
    func collectOrphans() async {
        guard let state = try? openState() else { return }
        let graceMs = Self.milliseconds(options.collectionGrace)
        let intervalMs = Self.milliseconds(options.collectionScanInterval)
        for set in state.sets {
            for (slot, member) in set.drives.enumerated() {
                guard let drive = member as? ClusterDrive, let catalog = drive.catalog else { continue }
                let now = WallClock.nowMs()
                // Data staged this long ago and never adopted here: its writer is long gone.
                let staleMs = Swift.max(graceMs, Self.unadoptedAfterMs)
                if now > staleMs { _ = try? await catalog.noteUnadopted(stagedBy: now - staleMs) }
                let wait = graceMs.addingClamped(UInt64(slot).multipliedClamped(by: 2).multipliedClamped(by: intervalMs))
                guard now > wait, let notes = try? await catalog.orphans(notedBy: now - wait, now: now, limit: 256) else { continue }
                for note in notes {
                    guard !Task.isCancelled else { return }
                    await collect(note, in: set, from: catalog)
                }
            }
        }
    }

    /// A duration in whole milliseconds, saturating (a grace of years must not trap).
    static func milliseconds(_ duration: Duration) -> UInt64 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        return UInt64(seconds).multipliedClamped(by: 1000).addingClamped(UInt64(attoseconds / 1_000_000_000_000_000))
    }

    /// How old staged data that no accept adopted must be before it is noted: longer than any
    /// write takes from staging to its accepts (a note on a write still in flight would make
    /// it fail, never lose it: the collector settles the key and condemns the data first).
    static let unadoptedAfterMs: UInt64 = 15 * 60 * 1000

    /// Runs the collector on one note. Collected: the drives dropped their notes with the
    /// data. Referenced: this note goes (a later replacement notes the data again). Any other
    /// verdict (a drive silent, a write in flight): tried again later.
    func collect(_ note: DriveCatalog.Orphan, in set: ErasureSet, from catalog: DriveCatalog) async {
        let claimed = collecting.withLock { $0.insert(note.dataRef).inserted }
        guard claimed else { return }
        defer { _ = collecting.withLock { $0.remove(note.dataRef) } }
        guard await collectionPacer.admit() else { return }
        let job = CollectionJob(
            versionID: note.dataRef, located: Located(set: set, key: note.key), parts: Self.parts(of: note), due: .now)
        switch await collect(job) {
        case .collect:
            break
        case .keep(.chosenValueReferencesIt):
            try? await catalog.forgetOrphan(dataRef: note.dataRef)
        case .keep:
            counters.collectionsDeferred.add(1, ordering: .relaxed)
            // Backs off with the note's age (a drive away for a day is not asked every minute).
            let now = WallClock.nowMs()
            let soonest = Self.milliseconds(options.collectionScanInterval).multipliedClamped(by: 6).addingClamped(1_000)
            let retryMs = Swift.max(Swift.min(now.subtractingClamped(note.sinceMs) / 2, 3_600_000), soonest)
            try? await catalog.deferOrphan(dataRef: note.dataRef, untilMs: now.addingClamped(retryMs))
        }
    }

    /// The shard layout of the replaced value: an object version's manifest, or a part
    /// attempt's record (its shards are part 1 of the attempt's data). Nothing for a value
    /// that does not decode: the collector then removes the catalog's rows, and the files stay.
    static func parts(of note: DriveCatalog.Orphan) -> [ObjectManifest.Part] {
        let value = RegisterValue(writeID: .random(), payload: note.payload, dataRef: note.dataRef)
        if note.key.scope.starts(with: Array("part/".utf8)) {
            return (try? PartRecord.decode(value)).map { [stagedLayout($0.layout)] } ?? []
        }
        return (try? ObjectManifest.decode(value))?.parts ?? []
    }

    /// Notes waiting on this node's drives (every drive of a set holds its own).
    func orphansPending() async -> Int {
        guard let state = try? openState() else { return 0 }
        var total = 0
        for drive in state.drives {
            total += (try? await drive.catalog?.orphanCount()) ?? 0
        }
        return total
    }
}
