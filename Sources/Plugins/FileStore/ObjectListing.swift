import Foundation
import GRDB
import StowageCore

/// Listing over the index in UTF-8 byte order. With a delimiter, each common prefix is
/// emitted once and the scan jumps past all keys under it (a skip scan), so a page costs
/// about one index seek per entry however many keys a prefix hides.
extension ObjectIndex {
    func list(bucketID: Int64, query: ListObjectsQuery) throws -> ListObjectsPage {
        let prefix = Array(query.prefix.utf8)
        let delimiter = query.delimiter.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
        let upper = KeyBytes.successor(of: prefix)
        let maxKeys = max(0, query.maxKeys)

        // Where to start: strictly after `after` when it lies at or beyond the prefix.
        var position = Cursor(key: prefix, inclusive: true)
        if let after = query.after.map({ Array($0.utf8) }), !after.lexicographicallyPrecedes(prefix) {
            position = Cursor(key: after, inclusive: false)
            // A marker inside a common prefix means that prefix was already returned.
            if let delimiter, after.starts(with: prefix),
                let end = KeyBytes.endOfFirst(delimiter, in: after, from: prefix.count) {
                let commonPrefix = Array(after[..<end])
                if let next = KeyBytes.successor(of: commonPrefix) { position = Cursor(key: next, inclusive: true) } else { return Self.emptyPage }
            }
        }
        if let upper, !position.key.lexicographicallyPrecedes(upper) { return Self.emptyPage }
        if maxKeys == 0 { return Self.emptyPage }

        return try read { db in
            var objects: [ObjectInfo] = []
            var prefixes: [String] = []
            var last: String?
            var count: Int { objects.count + prefixes.count }

            // Each pass streams rows lazily from the cursor position; a roll-up into a common
            // prefix ends the pass and the next one seeks past the prefix.
            scan: while true {
                let rows = try cursor(db, bucketID: bucketID, from: position, upper: upper, limit: maxKeys - count + 1)
                var produced = false
                while let row = try rows.next() {
                    produced = true
                    if count == maxKeys {
                        return ListObjectsPage(objects: objects, commonPrefixes: prefixes, isTruncated: true, nextMarker: last)
                    }
                    let key: Data = row[0]
                    let keyBytes = [UInt8](key)
                    if let delimiter, let end = KeyBytes.endOfFirst(delimiter, in: keyBytes, from: prefix.count) {
                        let commonPrefix = Array(keyBytes[..<end])
                        let text = String(decoding: commonPrefix, as: UTF8.self)
                        prefixes.append(text)
                        last = text
                        guard let next = KeyBytes.successor(of: commonPrefix) else { break scan }
                        position = Cursor(key: next, inclusive: true)
                        continue scan
                    }
                    let info = ObjectInfo(
                        key: String(decoding: keyBytes, as: UTF8.self), size: row[1], etag: row[2],
                        lastModified: S3Timestamp(millisecondsSinceEpoch: row[3]), storageClass: row[5], ownerID: row[4], partCount: row[6]
                    )
                    objects.append(info)
                    last = info.key
                    position = Cursor(key: keyBytes, inclusive: false)
                }
                if !produced || count < maxKeys { break }
            }
            // Out of rows before the page filled (or exactly full with nothing after it).
            let more = count == maxKeys ? try cursor(db, bucketID: bucketID, from: position, upper: upper, limit: 1).next() != nil : false
            return ListObjectsPage(objects: objects, commonPrefixes: prefixes, isTruncated: more, nextMarker: more ? last : nil)
        }
    }

    private static let emptyPage = ListObjectsPage(objects: [], commonPrefixes: [], isTruncated: false, nextMarker: nil)

    struct Cursor {
        var key: [UInt8]
        var inclusive: Bool
    }

    /// Rows from `position` on, in key order, produced lazily by SQLite.
    private func cursor(_ db: Database, bucketID: Int64, from position: Cursor, upper: [UInt8]?, limit: Int) throws -> RowCursor {
        let comparison = position.inclusive ? ">=" : ">"
        let bound = upper == nil ? "" : " AND key < ?"
        let statement = try db.cachedStatement(sql: """
            SELECT key, size, etag, modified_ms, owner_id, storage_class, part_count FROM objects
            WHERE bucket_id = ? AND key \(comparison) ?\(bound) ORDER BY key LIMIT ?
            """)
        var arguments: StatementArguments = [bucketID, Data(position.key)]
        if let upper { arguments += [Data(upper)] }
        arguments += [limit]
        return try Row.fetchCursor(statement, arguments: arguments)
    }
}
