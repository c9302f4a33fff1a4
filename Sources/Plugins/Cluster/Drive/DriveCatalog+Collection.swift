import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex

/// The collector's verbs on a drive (`DataCollectionRule`, CLUSTER.md §3, F6): condemn, read,
/// then collect or release.
extension DriveCatalog {
    /// How long a condemnation holds unless released or collected: a collector run takes
    /// seconds; one that takes longer finds its `collect` refused and keeps the data.
    public static let condemnationLeaseMs: UInt64 = 120_000

    /// The token of a condemnation made without one (tests, tools). Never empty: SQLite
    /// binds an empty blob as NULL.
    public static let unnamedRun: [UInt8] = [0]

    /// Condemns the data for `leaseMs` of this drive's clock on behalf of the collector run
    /// `token`: accepts that carry it are refused `noData` until then, and so is a stage of it
    /// when the drive holds none (a late stage must not give the drive data the run found
    /// nowhere here). Returns whether this drive holds the data. A later run's condemnation
    /// replaces an earlier one's: the earlier run then finds its own gone and keeps the data.
    ///
    /// A lease, not a flag: the collector that condemned may be on another node and die
    /// before it releases, and the drive's node cannot tell when no run is left in flight.
    /// The drive alone decides expiry, with its own clock, in the same serialized
    /// transactions as accepts and `collect`; an accept that adopts the data after expiry
    /// clears the condemnation, so a clock that steps back cannot revive it.
    @discardableResult
    public func condemn(dataRef: [UInt8], token: [UInt8] = DriveCatalog.unnamedRun, leaseMs: UInt64 = DriveCatalog.condemnationLeaseMs) async throws -> Bool {
        try await commits.submit { db in
            let now = WallClock.nowMs()
            let until = Int64(clamping: now + leaseMs)
            try db.cachedStatement(sql: "UPDATE data SET condemned = ?, condemned_by = ? WHERE data_ref = ?")
                .execute(arguments: [until, Data(token), Data(dataRef)])
            if db.changesCount > 0 { return true }
            // Absent condemnations of runs that died are dropped as later runs come by.
            try db.cachedStatement(sql: "DELETE FROM condemned_absent WHERE until < ?").execute(arguments: [Int64(clamping: now)])
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO condemned_absent (data_ref, token, until) VALUES (?, ?, ?)")
                .execute(arguments: [Data(dataRef), Data(token), until])
            return false
        }
    }

    /// Whether run `token`'s condemnation of the data still holds here: its lease has not
    /// run out, no other run condemned it since, and (held data) no accept adopted it since,
    /// or (absent data) nothing staged it since.
    public func isCondemned(dataRef: [UInt8], token: [UInt8] = DriveCatalog.unnamedRun) async throws -> Bool {
        try await commits.submit { db in
            let now = Int64(clamping: WallClock.nowMs())
            if let held = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT condemned, condemned_by FROM data WHERE data_ref = ?"), arguments: [Data(dataRef)]) {
                return (held["condemned"] as Int64) > now && (held["condemned_by"] as Data?) == Data(token)
            }
            return try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM condemned_absent WHERE data_ref = ? AND token = ? AND until > ?"),
                arguments: [Data(dataRef), Data(token), now]) ?? false
        }
    }

    /// Lifts run `token`'s condemnation (its verdict was keep); another run's stays.
    public func release(dataRef: [UInt8], token: [UInt8] = DriveCatalog.unnamedRun) async throws {
        try await commits.submit { db in
            try db.cachedStatement(sql: "UPDATE data SET condemned = 0 WHERE data_ref = ? AND condemned_by IS ?")
                .execute(arguments: [Data(dataRef), Data(token)])
            try db.cachedStatement(sql: "DELETE FROM condemned_absent WHERE data_ref = ? AND token = ?")
                .execute(arguments: [Data(dataRef), Data(token)])
        }
    }

    /// Whether a stage of the data must be refused: a collector run condemned it while this
    /// drive held none.
    static func condemnedAbsent(_ dataRef: [UInt8], _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM condemned_absent WHERE data_ref = ? AND until > ?"),
            arguments: [Data(dataRef), Int64(clamping: WallClock.nowMs())]) ?? false
    }

    /// Deletes condemned data's rows (inline shards included) and its orphan note. When this
    /// drive held it under a live condemnation of run `token`, returns the parts whose shards are files here
    /// (as staged), so the caller removes them; nil when nothing was deleted: data not
    /// condemned, or whose condemnation expired, is never deleted (its note stays, for the
    /// next run). A note on data this drive does not hold at all goes too.
    public func collect(dataRef: [UInt8], token: [UInt8] = DriveCatalog.unnamedRun) async throws -> [Int]? {
        try await commits.submit { db in
            let now = Int64(WallClock.nowMs())
            let mine = "data_ref = ? AND condemned > ? AND condemned_by IS ?"
            let files = try String.fetchOne(
                db.cachedStatement(sql: "SELECT file_parts FROM data WHERE \(mine)"), arguments: [Data(dataRef), now, Data(token)])
            try db.cachedStatement(sql: "DELETE FROM data WHERE \(mine)").execute(arguments: [Data(dataRef), now, Data(token)])
            let deleted = db.changesCount > 0
            try db.cachedStatement(sql: "DELETE FROM condemned_absent WHERE data_ref = ? AND token = ?")
                .execute(arguments: [Data(dataRef), Data(token)])
            let held = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM data WHERE data_ref = ?"), arguments: [Data(dataRef)]) ?? false
            if !held {
                // Inline shards with no data row are a Complete's partial staging, never held.
                try db.cachedStatement(sql: "DELETE FROM inline WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
                try db.cachedStatement(sql: "DELETE FROM orphans WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
            }
            guard deleted else { return nil }
            return (files ?? "").split(separator: ",").compactMap { Int($0) }
        }
    }
}
