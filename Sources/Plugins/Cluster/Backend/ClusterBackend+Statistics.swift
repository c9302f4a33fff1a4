public import StowageCore
import Synchronization

/// `statistics()` for `/_stowage/metrics`: every bucket listed with the read rule, the sizes
/// summed from the manifests. A scan, so its figures are kept: scrapes within 10 s of the
/// last scan reuse them unless a write through this node changed what is stored (writes
/// through other nodes show within 10 s).
extension ClusterBackend {
    public func statistics() async throws -> StorageStatistics? {
        let now = ContinuousClock.now
        if let kept = statisticsCache.withLock({ $0 }), !kept.stale, now - kept.at < .seconds(10) { return kept.figures }
        statisticsCache.withLock { $0?.stale = false }
        let state = try openState()
        var objects = 0
        var bytes: Int64 = 0
        let buckets = try await listBuckets()
        for bucket in buckets {
            // A bucket that cannot be listed now (deleted meanwhile, a set without R drives)
            // counts as empty this time rather than losing every figure.
            guard let record = try? await bucketRecord(bucket.name, state: state),
                  let sets = try? await pool(of: record, state: state).1.sets(ofPool: record.pool) else { continue }
            var keys = MergedKeyCursor(sets.map {
                SetKeySource(set: $0, scope: Array(record.id), prefix: [], readQuorum: state.quorum.readQuorum)
            })
            while let (_, copies) = try? await keys.next() {
                let value = copies[0].value.value
                let size = manifestCache.lookup(value.writeID)?.size ?? (try? ObjectManifest.decode(value))?.size ?? 0
                objects += 1
                bytes += size
            }
        }
        let figures = StorageStatistics(buckets: buckets.count, objects: objects, bytes: bytes)
        statisticsCache.withLock { kept in
            // A write that landed during the scan keeps the figures marked stale.
            kept = StatisticsSnapshot(at: now, figures: figures, stale: kept?.stale ?? false)
        }
        return figures
    }

    /// A write through this node: the next scrape scans again.
    func storedChanged() {
        statisticsCache.withLock { $0?.stale = true }
    }
}

struct StatisticsSnapshot: Sendable {
    var at: ContinuousClock.Instant
    var figures: StorageStatistics
    var stale: Bool
}
