import Synchronization

/// Parsed bucket configuration (a policy, CORS rules, an ACL) by bucket, kept as long as the
/// bucket's `configurationVersion` says nothing changed. Every request reads the bucket anyway
/// (`backend.bucket(name)`), and its version moves with every configuration write, on any node:
/// so an entry is never served after a change, and nothing needs invalidating. A bucket deleted
/// and recreated has another creation date and never inherits an entry.
///
/// ```swift
/// let rules = try await cache.value(for: try await backend.bucket(name)) {
///     try parse(try await backend.bucketConfiguration(name, kind: .cors))
/// }
/// ```
public final class BucketConfigurationCache<Value: Sendable>: Sendable {
    private struct Entry {
        var ownerID: String
        var creationDate: S3Timestamp
        var version: UInt64
        var value: Value
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Buckets remembered at most; past it the cache starts again (a rare, cheap reload).
    private let limit: Int

    public init(limit: Int = 10_000) { self.limit = limit }

    /// The cached value for `bucket` as it is now, or `load()`'s, remembered for this version.
    public func value(for bucket: BucketInfo, load: () async throws -> Value) async rethrows -> Value {
        if let hit = entries.withLock({ entries -> Value? in
            guard let entry = entries[bucket.name], entry.version == bucket.configurationVersion,
                  entry.creationDate == bucket.creationDate, entry.ownerID == bucket.ownerID else { return nil }
            return entry.value
        }) {
            return hit
        }
        let loaded = try await load()
        let entry = Entry(ownerID: bucket.ownerID, creationDate: bucket.creationDate, version: bucket.configurationVersion, value: loaded)
        entries.withLock { entries in
            // A slower load of an older version never replaces a newer one.
            if let current = entries[bucket.name], current.creationDate == entry.creationDate, current.version > entry.version { return }
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[bucket.name] = entry
        }
        return loaded
    }
}
