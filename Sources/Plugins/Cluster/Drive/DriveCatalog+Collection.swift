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
    /// nowhere here). Returns whether this drive holds the data. Throws ``CondemnedByAnotherRun``
    /// while another run's condemnation holds: a run never takes one over (the other run may
    /// be deleting shards on the set's other drives, and a release of ours would reopen this
    /// drive under it), so it counts this drive as silent and keeps the data.
    ///
    /// A lease, not a flag: the collector that condemned may be on another node and die
    /// before it releases, and the drive's node cannot tell when no run is left in flight.
    /// The drive alone decides expiry, with its own clock, in the same serialized
    /// transactions as accepts and `collect`; an accept that adopts the data after expiry
    /// clears the condemnation, so a clock that steps back cannot revive it.
    @discardableResult
    public func condemn(dataRef: [UInt8], token: [UInt8] = DriveCatalog.unnamedRun, leaseMs: UInt64 = DriveCatalog.condemnationLeaseMs) async throws -> Bool {
        guard !token.isEmpty else { throw CondemnedByAnotherRun() }
        return try await commits.submit { db in
            let now = Int64(clamping: WallClock.nowMs())
            let until = Int64(clamping: WallClock.nowMs() + leaseMs)
            try db.cachedStatement(sql: """
                UPDATE data SET condemned = ?, condemned_by = ? WHERE data_ref = ? AND (condemned <= ? OR condemned_by = ?)
                """).execute(arguments: [until, Data(token), Data(dataRef), now, Data(token)])
            if db.changesCount > 0 { return true }
            guard try !Self.holdsRow(dataRef, db) else { throw CondemnedByAnotherRun() }
            try Self.purgeAbsent(now: now, db)
            try db.cachedStatement(sql: """
                INSERT INTO condemned_absent (data_ref, token, until) VALUES (?, ?, ?)
                ON CONFLICT (data_ref) DO UPDATE SET token = excluded.token, until = excluded.until
                WHERE condemned_absent.until <= ? OR condemned_absent.token = excluded.token
                """).execute(arguments: [Data(dataRef), Data(token), until, now])
            guard db.changesCount > 0 else { throw CondemnedByAnotherRun() }
            return false
        }
    }

    /// Another collector run's condemnation of the data holds on this drive.
    public struct CondemnedByAnotherRun: Error {}

    /// Whether run `token`'s condemnation of the data still holds here: its lease has not
    /// run out and (held data) no accept adopted it since, or (absent data) nothing staged it.
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
            try db.cachedStatement(sql: "UPDATE data SET condemned = 0 WHERE data_ref = ? AND condemned_by = ?")
                .execute(arguments: [Data(dataRef), Data(token)])
            try db.cachedStatement(sql: "DELETE FROM condemned_absent WHERE data_ref = ? AND token = ?")
                .execute(arguments: [Data(dataRef), Data(token)])
        }
    }

    /// Whether a stage of the data must be refused: a collector run condemned it while this
    /// drive held none, or collected it here within its lease.
    static func condemnedAbsent(_ dataRef: [UInt8], _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM condemned_absent WHERE data_ref = ? AND until > ?"),
            arguments: [Data(dataRef), Int64(clamping: WallClock.nowMs())]) ?? false
    }

    private static func holdsRow(_ dataRef: [UInt8], _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM data WHERE data_ref = ?"), arguments: [Data(dataRef)]) ?? false
    }

    /// Drops a few absent condemnations whose lease ran out (runs that died, collections long done).
    private static func purgeAbsent(now: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: """
            DELETE FROM condemned_absent WHERE data_ref IN (SELECT data_ref FROM condemned_absent WHERE until <= ? LIMIT 16)
            """).execute(arguments: [now])
    }

    /// Deletes condemned data's rows (inline shards included) and its orphan note, under run
    /// `token`'s live condemnation only. Returns the parts whose shards are files here, for the
    /// caller to remove: those the row names, or none when the drive held no row (the caller's
    /// own list then: staging was refused here all along, so no row can name those files);
    /// nil when nothing was the run's to delete (not condemned by it, or its lease expired: the
    /// note stays, for the next run). The run's condemnation stays until its lease ends, so a
    /// stage that arrives late is refused.
    public func collect(dataRef: [UInt8], token: [UInt8] = DriveCatalog.unnamedRun) async throws -> [Int]? {
        try await commits.submit { db in
            let now = Int64(clamping: WallClock.nowMs())
            let mine = "data_ref = ? AND condemned > ? AND condemned_by = ?"
            var result: [Int]?
            if let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT file_parts, condemned FROM data WHERE \(mine)"), arguments: [Data(dataRef), now, Data(token)]) {
                try db.cachedStatement(sql: "DELETE FROM data WHERE \(mine)").execute(arguments: [Data(dataRef), now, Data(token)])
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO condemned_absent (data_ref, token, until) VALUES (?, ?, ?)")
                    .execute(arguments: [Data(dataRef), Data(token), row["condemned"] as Int64])
                result = ((row["file_parts"] as String?) ?? "").split(separator: ",").compactMap { Int($0) }
            } else if try !Self.holdsRow(dataRef, db), try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM condemned_absent WHERE data_ref = ? AND token = ? AND until > ?"),
                arguments: [Data(dataRef), Data(token), now]) == true {
                result = []
            }
            if try !Self.holdsRow(dataRef, db) {
                // Inline shards with no data row are a Complete's partial staging, never held.
                try db.cachedStatement(sql: "DELETE FROM inline WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
                try db.cachedStatement(sql: "DELETE FROM orphans WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
            }
            return result
        }
    }
}
