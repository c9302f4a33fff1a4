import Foundation
import GRDB
import StowageCore

/// ListMultipartUploads over the `uploads` table: ordered by key bytes, then upload id (which
/// is time-ordered), with S3's key-marker/upload-id-marker rules and delimiter roll-up.
enum MultipartListing {
    static func list(_ db: Database, bucketID: Int64, query: ListUploadsQuery) throws -> ListUploadsPage {
        let prefix = Array(query.prefix.utf8)
        let delimiter = query.delimiter.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
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

        var uploads: [MultipartUploadInfo] = []
        var prefixes: [String] = []
        var lastPrefix: [UInt8]?
        // A key marker inside a common prefix means that prefix was listed already.
        if let delimiter, let keyMarker, keyMarker.starts(with: prefix),
           let end = KeyBytes.endOfFirst(delimiter, in: keyMarker, from: prefix.count) {
            lastPrefix = Array(keyMarker[..<end])
        }
        var nextKeyMarker: String?
        var nextUploadID: String?
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            let key = [UInt8](row[0] as Data)
            if let lastPrefix, key.starts(with: lastPrefix) { continue }
            if uploads.count + prefixes.count == query.maxUploads {
                return ListUploadsPage(uploads: uploads, commonPrefixes: prefixes, isTruncated: true, nextKeyMarker: nextKeyMarker, nextUploadIDMarker: nextUploadID)
            }
            if let delimiter, let end = KeyBytes.endOfFirst(delimiter, in: key, from: prefix.count) {
                let common = Array(key[..<end])
                lastPrefix = common
                let text = String(decoding: common, as: UTF8.self)
                prefixes.append(text)
                nextKeyMarker = text
                nextUploadID = nil
                continue
            }
            let uploadID: String = row[1]
            uploads.append(MultipartUploadInfo(
                key: String(decoding: key, as: UTF8.self), uploadID: uploadID, initiated: S3Timestamp(millisecondsSinceEpoch: row[2]),
                ownerID: row[3], storageClass: row[4], checksumAlgorithm: (row[5] as String?).flatMap(ChecksumAlgorithm.init(name:)),
                checksumType: (row[6] as String?).flatMap(ChecksumType.init(rawValue:))
            ))
            nextKeyMarker = uploads.last!.key
            nextUploadID = uploadID
        }
        return ListUploadsPage(uploads: uploads, commonPrefixes: prefixes, isTruncated: false, nextKeyMarker: nil, nextUploadIDMarker: nil)
    }
}
