import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex
import Synchronization

/// DeleteBucket's fences on a drive (CLUSTER.md §6, F11): while a bucket ID is closed here,
/// the drive votes on none of its object keys (`apply` answers prepares and accepts
/// `notVoter`), so once Q drives of a set closed it no write of the bucket can be chosen.
extension DriveCatalog {
    /// Closes `bucketID` on this drive under `token` until `untilMs` (this drive's wall clock;
    /// nil: for good), or removes that token's fence (`open: true`); a fence for good is never
    /// removed. Durable when it returns.
    public func fence(bucketID: [UInt8], token: [UInt8], untilMs: UInt64?, open: Bool = false) async throws {
        fenced.store(true, ordering: .relaxed)
        try await commits.submit { db in
            if open {
                try db.cachedStatement(sql: "DELETE FROM fences WHERE bucket_id = ? AND token = ? AND until < ?")
                    .execute(arguments: [Data(bucketID), Data(token), Int64.max])
            } else {
                let until = untilMs.map { Int64(clamping: min($0, UInt64(Int64.max - 1))) } ?? Int64.max
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO fences (bucket_id, token, until) VALUES (?, ?, ?)")
                    .execute(arguments: [Data(bucketID), Data(token), until])
            }
        }
    }

    static func isFenced(_ scope: [UInt8], _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM fences WHERE bucket_id = ? AND until > ?"),
            arguments: [Data(scope), Int64(WallClock.nowMs())]) ?? false
    }

    /// Whether `bucketID` is closed here for good (its bucket was deleted).
    public func isDeletedForGood(bucketID: [UInt8]) async throws -> Bool {
        try await pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM fences WHERE bucket_id = ? AND until = ?", arguments: [Data(bucketID), Int64.max]) ?? false
        }
    }

    /// After open: whether any fence exists (otherwise accepts skip the look-up).
    func loadFenceFlag() throws {
        let any = try pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM fences LIMIT 1") ?? false }
        fenced.store(any, ordering: .relaxed)
    }
}
