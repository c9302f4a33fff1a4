import Foundation
import GRDB
import StowageCore

/// A multipart upload's row.
struct UploadRecord: Sendable {
    var info: MultipartUploadInfo
    var bucketID: Int64
    var metadata: ObjectMetadata
}

/// A part's row: what the client was told, and the file under the upload's directory.
struct StoredPart: Sendable {
    var info: PartInfo
    var file: String
}

/// Uploads and parts: the SQL the backend's multipart code runs, inside transactions the backend
/// opens (part files and upload directories are handled beside them).
extension ObjectIndex {
    static func insertUpload(_ info: MultipartUploadInfo, bucketID: Int64, metadata: ObjectMetadata, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO uploads (upload_id, bucket_id, key, initiated_ms, owner_id, storage_class, metadata, checksum_algorithm, checksum_type)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [info.uploadID, bucketID, Data(info.key.utf8), info.initiated.millisecondsSinceEpoch, info.ownerID, info.storageClass,
                             MetadataCodec.encode(metadata), info.checksumAlgorithm?.rawValue, info.checksumType?.rawValue])
    }

    /// The upload, with the key bytes it was created for; `nil` when there is none.
    static func upload(_ uploadID: String, _ db: Database) throws -> (record: UploadRecord, key: [UInt8])? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT key, initiated_ms, owner_id, storage_class, metadata, checksum_algorithm, checksum_type, bucket_id FROM uploads WHERE upload_id = ?
            """, arguments: [uploadID]) else { return nil }
        let key = [UInt8](row[0] as Data)
        let info = MultipartUploadInfo(
            key: String(decoding: key, as: UTF8.self), uploadID: uploadID,
            initiated: S3Timestamp(millisecondsSinceEpoch: row[1]), ownerID: row[2], storageClass: row[3],
            checksumAlgorithm: (row[5] as String?).flatMap(ChecksumAlgorithm.init(name:)),
            checksumType: (row[6] as String?).flatMap(ChecksumType.init(rawValue:))
        )
        return (UploadRecord(info: info, bucketID: row[7], metadata: MetadataCodec.decode(row[4])), key)
    }

    static func uploadExists(_ uploadID: String, _ db: Database) throws -> Bool {
        try String.fetchOne(db, sql: "SELECT upload_id FROM uploads WHERE upload_id = ?", arguments: [uploadID]) != nil
    }

    /// Removes the upload's row; its parts go by cascade.
    static func deleteUpload(_ uploadID: String, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM uploads WHERE upload_id = ?", arguments: [uploadID])
    }

    /// Removes the uploads initiated before `cutoff`; returns their ids.
    static func deleteUploads(initiatedBefore cutoff: S3Timestamp, _ db: Database) throws -> [String] {
        let ids = try String.fetchAll(db, sql: "SELECT upload_id FROM uploads WHERE initiated_ms < ?", arguments: [cutoff.millisecondsSinceEpoch])
        try db.execute(sql: "DELETE FROM uploads WHERE initiated_ms < ?", arguments: [cutoff.millisecondsSinceEpoch])
        return ids
    }

    static func storedParts(_ uploadID: String, _ db: Database, after marker: Int = 0, limit: Int = 10_001) throws -> [StoredPart] {
        try Row.fetchAll(db, sql: """
            SELECT part_number, etag, size, modified_ms, checksum_algorithm, checksum, file FROM parts
            WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?
            """, arguments: [uploadID, marker, limit]).map { row in
            var info = PartInfo(partNumber: row[0], etag: row[1], size: row[2], lastModified: S3Timestamp(millisecondsSinceEpoch: row[3]))
            if let name: String = row[4], let algorithm = ChecksumAlgorithm(name: name), let value: Data = row[5] {
                info.checksum = (algorithm, [UInt8](value))
            }
            return StoredPart(info: info, file: row[6])
        }
    }

    /// Stores a part's row, replacing one with the same number; returns the replaced part's file.
    static func upsertPart(_ part: PartInfo, uploadID: String, file: String, _ db: Database) throws -> String? {
        let old = try String.fetchOne(db, sql: "SELECT file FROM parts WHERE upload_id = ? AND part_number = ?", arguments: [uploadID, part.partNumber])
        try db.execute(sql: """
            INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag, modified_ms, checksum_algorithm, checksum, file)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [uploadID, part.partNumber, part.size, part.etag, part.lastModified.millisecondsSinceEpoch,
                             part.checksum?.algorithm.rawValue, part.checksum.map { Data($0.value) }, file])
        return old
    }

    /// Every upload id, and every part file as `uploadID/file`: what start-up keeps on disk.
    static func uploadIDsAndPartFiles(_ db: Database) throws -> (uploads: Set<String>, files: Set<String>) {
        (Set(try String.fetchAll(db, sql: "SELECT upload_id FROM uploads")), Set(try String.fetchAll(db, sql: "SELECT upload_id || '/' || file FROM parts")))
    }
}
