import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex

/// ListObjects over the index: the `objects` table scanned by the SQLite index library's
/// `KeysetScan`, paged by Core's `ListingPager`.
extension ObjectIndex {
    func list(bucketID: Int64, query: ListObjectsQuery) throws -> ListObjectsPage {
        var pager = ListingPager<ObjectInfo>(prefix: query.prefix, delimiter: query.delimiter, marker: query.after, maxKeys: query.maxKeys)
        guard pager.start != nil else { return ListObjectsPage(pager.page) }
        let scan = KeysetScan(table: "objects", key: "key", columns: "size, etag, modified_ms, owner_id, storage_class, part_count",
                              scope: "bucket_id = ?", scopeArguments: [bucketID])
        return try read { db in
            ListObjectsPage(try scan.page(db, pager: &pager) { key, row in
                ObjectInfo(
                    key: String(decoding: key, as: UTF8.self), size: row[1], etag: row[2],
                    lastModified: S3Timestamp(millisecondsSinceEpoch: row[3]), storageClass: row[5], ownerID: row[4], partCount: row[6]
                )
            })
        }
    }
}
