import StowageCore

/// ListObjects and ListMultipartUploads over keys as UTF-8 bytes, paged by Core's
/// `ListingPager` (prefix, delimiter, markers, truncation): this file only feeds it keys.
enum Listing {
    /// One page of `table`. A common prefix is passed with one binary search, so a page costs
    /// O(maxKeys · log n) however many keys a prefix hides.
    static func objects(in table: ObjectTable, query: ListObjectsQuery) -> ListObjectsPage {
        var pager = ListingPager<ObjectInfo>(prefix: query.prefix, delimiter: query.delimiter, marker: query.after, maxKeys: query.maxKeys)
        var position = pager.start
        let keys = table.sortedKeys
        while let current = position {
            position = nil
            var index = switch current {
            case .atOrAfter(let key): table.firstIndex(notBefore: key)
            case .after(let key): table.firstIndex(after: key)
            }
            scan: while index < keys.count {
                let key = keys[index]
                switch pager.offer(key, entry: { table.byKey[key]!.info }) {
                case .next: index += 1
                case .seek(let next): position = next; break scan
                case .done: return ListObjectsPage(pager.page)
                }
            }
        }
        return ListObjectsPage(pager.page)
    }

    /// One page of uploads, ordered by key bytes then upload id (ids are creation-ordered).
    static func uploads(_ all: [MultipartUploadInfo], query: ListUploadsQuery) -> ListUploadsPage {
        let keyMarker = query.keyMarker.map { Array($0.utf8) }
        let candidates = all.map { (key: Array($0.key.utf8), info: $0) }
            .filter { candidate in
                guard let keyMarker else { return true }
                // With an upload-id marker, later uploads of the marker's key still follow.
                if let uploadIDMarker = query.uploadIDMarker, candidate.key == keyMarker {
                    return uploadIDMarker.utf8.lexicographicallyPrecedes(candidate.info.uploadID.utf8)
                }
                return keyMarker.lexicographicallyPrecedes(candidate.key)
            }
            .sorted { lhs, rhs in
                lhs.key == rhs.key ? lhs.info.uploadID.utf8.lexicographicallyPrecedes(rhs.info.uploadID.utf8) : lhs.key.lexicographicallyPrecedes(rhs.key)
            }
        var pager = ListingPager<MultipartUploadInfo>(prefix: query.prefix, delimiter: query.delimiter, marker: query.keyMarker,
                                                      maxKeys: query.maxUploads, markerInclusive: query.uploadIDMarker != nil)
        // max-uploads=0 answers no uploads, truncated when some exist.
        if query.maxUploads == 0 {
            let any = candidates.contains { $0.key.starts(with: Array(query.prefix.utf8)) }
            return ListUploadsPage(uploads: [], commonPrefixes: [], isTruncated: any, nextKeyMarker: nil, nextUploadIDMarker: nil)
        }
        // The markers were applied above and this source does not seek: keys under an emitted
        // common prefix are skipped as they come.
        for candidate in candidates {
            if pager.offer(candidate.key, entry: { candidate.info }) == .done { break }
        }
        return ListUploadsPage(pager.page)
    }
}
