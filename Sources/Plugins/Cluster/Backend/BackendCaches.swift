import Synchronization

/// Buckets this node read recently (CLUSTER.md §6, "Caches"): a positive entry is a lease of
/// `lease` from when it was read; a bucket is never reported missing from the cache (there are
/// no negative entries). One node owns every write to its bucket registers in this build, so
/// its own create and delete keep the cache exact; the lease bounds staleness once other nodes
/// write too.
final class BucketLeaseCache: Sendable {
    private struct State {
        var entries: [String: (record: BucketRecord, expires: ContinuousClock.Instant)] = [:]
        /// Bumped by every invalidation: a read that began before one must not store.
        var generations: [String: UInt64] = [:]
    }

    private let state = Mutex(State())
    private let lease: Duration

    init(lease: Duration = .seconds(5)) { self.lease = lease }

    func lookup(_ name: String) -> BucketRecord? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = state.entries[name] else { return nil }
            guard entry.expires > now else {
                state.entries[name] = nil
                return nil
            }
            return entry.record
        }
    }

    /// Read before reading the register; pass to ``store(_:readAt:)``.
    func generation(_ name: String) -> UInt64 { state.withLock { $0.generations[name] ?? 0 } }

    /// Stores what a read found, unless the name was invalidated since the read began.
    func store(_ record: BucketRecord, readAt generation: UInt64) {
        let expires = ContinuousClock.now + lease
        state.withLock { state in
            guard (state.generations[record.name] ?? 0) == generation else { return }
            state.entries[record.name] = (record, expires)
        }
    }

    func invalidate(_ name: String) {
        state.withLock { state in
            state.entries[name] = nil
            state.generations[name, default: 0] += 1
        }
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
