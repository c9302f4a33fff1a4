import Foundation
import GRDB
import StowageCore

/// Listing over the index in UTF-8 byte order, paged by Core's `ListingPager`. With a delimiter,
/// each common prefix is emitted once and the scan jumps past all keys under it (a skip scan),
/// so a page costs about one index seek per entry however many keys a prefix hides.
extension ObjectIndex {
    func list(bucketID: Int64, query: ListObjectsQuery) throws -> ListObjectsPage {
        var pager = ListingPager<ObjectInfo>(prefix: query.prefix, delimiter: query.delimiter, marker: query.after, maxKeys: query.maxKeys)
        guard var position = pager.start else { return ListObjectsPage(pager.page) }
        return try read { db in
            // Each pass streams rows lazily from the position; a roll-up into a common prefix
            // ends the pass and the next one seeks past the prefix.
            scan: while true {
                let rows = try cursor(db, bucketID: bucketID, from: position, upper: pager.upperBound)
                while let row = try rows.next() {
                    let key = [UInt8](row[0] as Data)
                    let step = pager.offer(key) {
                        ObjectInfo(
                            key: String(decoding: key, as: UTF8.self), size: row[1], etag: row[2],
                            lastModified: S3Timestamp(millisecondsSinceEpoch: row[3]), storageClass: row[5], ownerID: row[4], partCount: row[6]
                        )
                    }
                    switch step {
                    case .next: continue
                    case .seek(let next): position = next; continue scan
                    case .done: break scan
                    }
                }
                break
            }
            return ListObjectsPage(pager.page)
        }
    }

    /// Rows from `position` on, in key order, produced lazily by SQLite.
    private func cursor(_ db: Database, bucketID: Int64, from position: ListingPosition, upper: [UInt8]?) throws -> RowCursor {
        let comparison = if case .atOrAfter = position { ">=" } else { ">" }
        let bound = upper == nil ? "" : " AND key < ?"
        let statement = try db.cachedStatement(sql: """
            SELECT key, size, etag, modified_ms, owner_id, storage_class, part_count FROM objects
            WHERE bucket_id = ? AND key \(comparison) ?\(bound) ORDER BY key
            """)
        var arguments: StatementArguments = [bucketID, Data(position.key)]
        if let upper { arguments += [Data(upper)] }
        return try Row.fetchCursor(statement, arguments: arguments)
    }
}
