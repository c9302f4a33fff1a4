import Synchronization

/// Buckets this node read recently (CLUSTER.md §6, "Caches"): a positive entry is a lease of
/// `lease` from when it was read; a bucket is never reported missing from the cache (there are
/// no negative entries). One node owns every write to its bucket registers in this build, so
/// its own create and delete keep the cache exact; the lease bounds staleness once other nodes
/// write too.
final class BucketLeaseCache: Sendable {
    private let entries = Mutex<[String: (record: BucketRecord, expires: ContinuousClock.Instant)]>([:])
    private let lease: Duration

    init(lease: Duration = .seconds(5)) { self.lease = lease }

    func lookup(_ name: String) -> BucketRecord? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[name] else { return nil }
            guard entry.expires > now else {
                entries[name] = nil
                return nil
            }
            return entry.record
        }
    }

    func store(_ record: BucketRecord) {
        let expires = ContinuousClock.now + lease
        entries.withLock { $0[record.name] = (record, expires) }
    }

    func remove(_ name: String) {
        _ = entries.withLock { $0.removeValue(forKey: name) }
    }
}

/// Decoded manifests by write ID. A write ID names one immutable value, so an entry can never
/// be stale; the cache only saves decoding the same manifest again.
final class ManifestCache: Sendable {
    private let entries = Mutex<[WriteID: ObjectManifest]>([:])
    private let capacity: Int

    init(capacity: Int = 4_096) { self.capacity = capacity }

    func lookup(_ writeID: WriteID) -> ObjectManifest? { entries.withLock { $0[writeID] } }

    func store(_ manifest: ObjectManifest, for writeID: WriteID) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[writeID] = manifest
        }
    }
}
