import StowageCore

/// ListObjects and ListMultipartUploads over keys as UTF-8 bytes: byte order, prefixes and
/// delimiters matched on bytes, markers compared as bytes.
enum Listing {
    private static let emptyPage = ListObjectsPage(objects: [], commonPrefixes: [], isTruncated: false, nextMarker: nil)

    /// One page of `table`. With a delimiter each common prefix is emitted once and the scan
    /// jumps past every key under it with a binary search, so a page costs O(maxKeys · log n)
    /// however many keys a prefix hides.
    static func objects(in table: ObjectTable, query: ListObjectsQuery) -> ListObjectsPage {
        let prefix = Array(query.prefix.utf8)
        let delimiter = query.delimiter.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = max(0, query.maxKeys)
        let keys = table.sortedKeys

        var index = table.firstIndex(notBefore: prefix)
        // A marker before the prefix changes nothing; one at or past it starts strictly after it.
        if let after = query.after.map({ Array($0.utf8) }), !after.lexicographicallyPrecedes(prefix) {
            index = table.firstIndex(after: after)
            // A marker inside a common prefix means that prefix was already returned.
            if let delimiter, after.starts(with: prefix), let end = KeyBytes.endOfFirst(delimiter, in: after, from: prefix.count) {
                guard let next = KeyBytes.successor(of: Array(after[..<end])) else { return emptyPage }
                index = table.firstIndex(notBefore: next)
            }
        }
        guard maxKeys > 0 else { return emptyPage }

        var objects: [ObjectInfo] = []
        var prefixes: [String] = []
        var last: String?
        // Keys starting with the prefix are contiguous in byte order.
        while index < keys.count, keys[index].starts(with: prefix) {
            // Full, and there is at least one more entry: truncated.
            if objects.count + prefixes.count == maxKeys {
                return ListObjectsPage(objects: objects, commonPrefixes: prefixes, isTruncated: true, nextMarker: last)
            }
            let key = keys[index]
            if let delimiter, let end = KeyBytes.endOfFirst(delimiter, in: key, from: prefix.count) {
                let common = Array(key[..<end])
                // Valid UTF-8 delimiters match only at character boundaries, so this decodes losslessly.
                let text = String(decoding: common, as: UTF8.self)
                prefixes.append(text)
                last = text
                guard let next = KeyBytes.successor(of: common) else { break }
                index = table.firstIndex(notBefore: next)
            } else {
                let info = table.byKey[key]!.info
                objects.append(info)
                last = info.key
                index += 1
            }
        }
        return ListObjectsPage(objects: objects, commonPrefixes: prefixes, isTruncated: false, nextMarker: nil)
    }

    /// One page of uploads, ordered by key bytes then upload id (ids are creation-ordered), with
    /// S3's key-marker / upload-id-marker rules and delimiter roll-up.
    static func uploads(_ all: [MultipartUploadInfo], query: ListUploadsQuery) -> ListUploadsPage {
        let prefix = Array(query.prefix.utf8)
        let delimiter = query.delimiter.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
        let keyMarker = query.keyMarker.map { Array($0.utf8) }
        let maxUploads = max(0, query.maxUploads)

        let candidates = all.map { (key: Array($0.key.utf8), info: $0) }
            .filter { candidate in
                guard candidate.key.starts(with: prefix) else { return false }
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

        var uploads: [MultipartUploadInfo] = []
        var prefixes: [String] = []
        var lastPrefix: [UInt8]?
        // A key marker inside a common prefix means that prefix was listed already.
        if let delimiter, let keyMarker, keyMarker.starts(with: prefix), let end = KeyBytes.endOfFirst(delimiter, in: keyMarker, from: prefix.count) {
            lastPrefix = Array(keyMarker[..<end])
        }
        var nextKeyMarker: String?
        var nextUploadIDMarker: String?
        for candidate in candidates {
            if let lastPrefix, candidate.key.starts(with: lastPrefix) { continue }
            if uploads.count + prefixes.count == maxUploads {
                return ListUploadsPage(uploads: uploads, commonPrefixes: prefixes, isTruncated: true,
                                       nextKeyMarker: nextKeyMarker, nextUploadIDMarker: nextUploadIDMarker)
            }
            if let delimiter, let end = KeyBytes.endOfFirst(delimiter, in: candidate.key, from: prefix.count) {
                let common = Array(candidate.key[..<end])
                lastPrefix = common
                let text = String(decoding: common, as: UTF8.self)
                prefixes.append(text)
                nextKeyMarker = text
                nextUploadIDMarker = nil
                continue
            }
            uploads.append(candidate.info)
            nextKeyMarker = candidate.info.key
            nextUploadIDMarker = candidate.info.uploadID
        }
        return ListUploadsPage(uploads: uploads, commonPrefixes: prefixes, isTruncated: false, nextKeyMarker: nil, nextUploadIDMarker: nil)
    }
}
