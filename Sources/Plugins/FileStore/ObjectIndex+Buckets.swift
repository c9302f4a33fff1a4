import Foundation
import GRDB
import StowageCore

/// Bucket rows and the crash-recovery records (`pending` renames, `trash` unlinks): the SQL the
/// backend's bucket and recovery code runs, inside transactions the backend opens (so file
/// operations can share them).
extension ObjectIndex {
    /// A committed write whose rename may not have happened: the live row still names `inode`.
    struct PendingRename {
        var bucketName: String
        var key: String
        var inode: UInt64
        var temp: String
    }

    /// A committed delete whose unlink may not have happened.
    struct PendingUnlink {
        var bucketID: Int64
        /// `nil` when the bucket is gone too.
        var bucketName: String?
        var path: String
        var key: String
        var inode: UInt64
    }

    /// Renames to finish: only those whose row is still the live one (a later commit or delete
    /// of the key superseded the others).
    func pendingRenames() throws -> [PendingRename] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT b.name, p.key, p.inode, p.temp FROM pending p
                JOIN buckets b ON b.id = p.bucket_id
                JOIN objects o ON o.bucket_id = p.bucket_id AND o.key = p.key AND o.inode = p.inode
                """).map { row in
                PendingRename(bucketName: row[0], key: String(decoding: row[1] as Data, as: UTF8.self),
                              inode: UInt64(bitPattern: row[2]), temp: row[3])
            }
        }
    }

    func pendingUnlinks() throws -> [PendingUnlink] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT t.bucket_id, b.name, t.path, t.key, t.inode FROM trash t LEFT JOIN buckets b ON b.id = t.bucket_id").map { row in
                PendingUnlink(bucketID: row[0], bucketName: row[1], path: row[2], key: String(decoding: row[3] as Data, as: UTF8.self),
                              inode: UInt64(bitPattern: row[4]))
            }
        }
    }

    /// Forgets every recovery record, once recovery has acted on them.
    func clearRecoveryRecords() throws {
        try write { db in
            try db.execute(sql: "DELETE FROM pending")
            try db.execute(sql: "DELETE FROM trash")
        }
    }

    /// Forgets the pending rename of `temp` (its file was renamed or removed).
    func forgetPendingRename(temp: String, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM pending WHERE temp = ?", arguments: [temp])
    }

    /// Adds a bucket row; returns its id.
    func insertBucket(_ info: BucketInfo, _ db: Database) throws -> Int64 {
        try db.execute(sql: "INSERT INTO buckets (name, owner_id, region, created_ms) VALUES (?, ?, ?, ?)",
                       arguments: [info.name, info.ownerID, info.region, info.creationDate.millisecondsSinceEpoch])
        return db.lastInsertedRowID
    }

    func bucketExists(id: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM buckets WHERE id = ?)", arguments: [id]) == true
    }

    /// Removes an (empty) bucket's row with its recovery records and uploads (parts and
    /// configuration documents go by cascade); returns the ids of the uploads removed, whose
    /// directories the caller removes.
    func deleteBucket(id: Int64, _ db: Database) throws -> [String] {
        try db.execute(sql: "DELETE FROM trash WHERE bucket_id = ?", arguments: [id])
        let uploads = try String.fetchAll(db, sql: "SELECT upload_id FROM uploads WHERE bucket_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM buckets WHERE id = ?", arguments: [id])
        return uploads
    }
}
