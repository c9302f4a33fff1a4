import Foundation
import GRDB
import StowageCore

/// ListMultipartUploads over the `uploads` table: ordered by key bytes, then upload id (which
/// is time-ordered), with S3's key-marker/upload-id-marker rules and delimiter roll-up.
enum MultipartListing {
    static func list(_ db: Database, bucketID: Int64, query: ListUploadsQuery) throws -> ListUploadsPage {
        let prefix = Array(query.prefix.utf8)
        let keyMarker = query.keyMarker.map { Array($0.utf8) }
        let upper = KeyBytes.successor(of: prefix)
        var sql = "SELECT key, upload_id, initiated_ms, owner_id, storage_class, checksum_algorithm, checksum_type FROM uploads WHERE bucket_id = ? AND key >= ?"
        var arguments: StatementArguments = [bucketID, Data(prefix)]
        if let upper {
            sql += " AND key < ?"
            arguments += [Data(upper)]
        }
        if let keyMarker {
            if let uploadIDMarker = query.uploadIDMarker {
                sql += " AND (key > ? OR (key = ? AND upload_id > ?))"
                arguments += [Data(keyMarker), Data(keyMarker), uploadIDMarker]
            } else {
                sql += " AND key > ?"
                arguments += [Data(keyMarker)]
            }
        }
        sql += " ORDER BY key, upload_id"

        // The SQL already applies the markers; the pager rolls keys up and cuts the page. This
        // source does not seek: keys under an emitted common prefix are skipped as they come.
        var pager = ListingPager<MultipartUploadInfo>(prefix: query.prefix, delimiter: query.delimiter, marker: query.keyMarker,
                                                      maxKeys: query.maxUploads, markerInclusive: query.uploadIDMarker != nil)
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        // max-uploads=0 answers no uploads, truncated when some exist (as this listing always has).
        if query.maxUploads == 0 {
            return ListUploadsPage(uploads: [], commonPrefixes: [], isTruncated: try rows.next() != nil, nextKeyMarker: nil, nextUploadIDMarker: nil)
        }
        guard pager.start != nil else { return ListUploadsPage(pager.page) }
        while let row = try rows.next() {
            let key = [UInt8](row[0] as Data)
            let step = pager.offer(key) {
                MultipartUploadInfo(
                    key: String(decoding: key, as: UTF8.self), uploadID: row[1], initiated: S3Timestamp(millisecondsSinceEpoch: row[2]),
                    ownerID: row[3], storageClass: row[4], checksumAlgorithm: (row[5] as String?).flatMap(ChecksumAlgorithm.init(name:)),
                    checksumType: (row[6] as String?).flatMap(ChecksumType.init(rawValue:))
                )
            }
            if step == .done { break }
        }
        return ListUploadsPage(pager.page)
    }
}
