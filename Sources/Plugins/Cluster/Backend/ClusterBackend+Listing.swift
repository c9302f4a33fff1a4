public import StowageCore

/// ListObjects (CLUSTER.md §5): every set's drives streamed and merged by key, each key
/// resolved with the read rule, the sets merged in turn (a key lives in one set), paged by
/// Core's `ListingPager` exactly as FileStore pages its index, so both answer alike. A
/// common prefix makes every stream seek past it.
extension ClusterBackend {
    public func listObjects(bucket: String, query: ListObjectsQuery) async throws -> ListObjectsPage {
        let state = try openState()
        let record = try await bucketRecord(bucket, state: state)
        var pager = ListingPager<ObjectInfo>(prefix: query.prefix, delimiter: query.delimiter, marker: query.after, maxKeys: query.maxKeys)
        guard pager.start != nil else { return ListObjectsPage(pager.page) }
        let scope = Array(record.id)
        // A grouped fetch costs a seek per common prefix on the drive: no more than the page
        // can use (maxKeys + 1, the last saying whether it is truncated), and a few more.
        let pageSize = pager.delimiter == nil ? 1_000 : max(16, min(1_000, query.maxKeys) + 1)
        var keys = MergedKeyCursor(try await pool(of: record, state: state).1.sets(ofPool: record.pool).map {
            SetKeySource(
                set: $0, scope: scope, prefix: pager.prefix, readQuorum: state.quorum.readQuorum, pageSize: pageSize, delimiter: pager.delimiter)
        })
        return ListObjectsPage(try await pager.fill(from: &keys) { key, copies in
            let value = copies[0].value.value
            if let cached = manifestCache.lookup(value.writeID) { return cached.info() }
            // Not stored in the cache: a listing of many keys would push out what GETs use.
            return try Self.decodeOrFail { try ObjectManifest.decode(value) }.info()
        })
    }
}
