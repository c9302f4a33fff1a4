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

    /// Marks staged or adopted data condemned for `leaseMs` of this drive's clock: accepts
    /// that carry it are refused `noData` until then. False when this drive holds none of it.
    ///
    /// A lease, not a flag: the collector that condemned may be on another node and die
    /// before it releases, and the drive's node cannot tell when no run is left in flight.
    /// The drive alone decides expiry, with its own clock, in the same serialized
    /// transactions as accepts and `collect`; an accept that adopts the data after expiry
    /// clears the condemnation, so a clock that steps back cannot revive it.
    public func condemn(dataRef: [UInt8], leaseMs: UInt64 = DriveCatalog.condemnationLeaseMs) async throws -> Bool {
        try await commits.submit { db in
            try db.cachedStatement(sql: "UPDATE data SET condemned = ? WHERE data_ref = ?")
                .execute(arguments: [Int64(WallClock.nowMs() + leaseMs), Data(dataRef)])
            return db.changesCount > 0
        }
    }

    /// Whether the data is condemned under a lease that still holds (never adopted since:
    /// an adopting accept clears it).
    public func isCondemned(dataRef: [UInt8]) async throws -> Bool {
        try await commits.submit { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM data WHERE data_ref = ? AND condemned > ?"),
                arguments: [Data(dataRef), Int64(WallClock.nowMs())]) ?? false
        }
    }

    /// Lifts a condemnation (the collector's verdict was keep).
    public func release(dataRef: [UInt8]) async throws {
        try await commits.submit { db in
            try db.cachedStatement(sql: "UPDATE data SET condemned = 0 WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
        }
    }

    /// Deletes condemned data's rows (inline shards included) and its orphan note. When this
    /// drive held it under a live condemnation, returns the parts whose shards are files here
    /// (as staged), so the caller removes them; nil when nothing was deleted: data not
    /// condemned, or whose condemnation expired, is never deleted (its note stays, for the
    /// next run). A note on data this drive does not hold at all goes too.
    public func collect(dataRef: [UInt8]) async throws -> [Int]? {
        try await commits.submit { db in
            let now = Int64(WallClock.nowMs())
            let files = try String.fetchOne(
                db.cachedStatement(sql: "SELECT file_parts FROM data WHERE data_ref = ? AND condemned > ?"), arguments: [Data(dataRef), now])
            try db.cachedStatement(sql: "DELETE FROM data WHERE data_ref = ? AND condemned > ?").execute(arguments: [Data(dataRef), now])
            let deleted = db.changesCount > 0
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
