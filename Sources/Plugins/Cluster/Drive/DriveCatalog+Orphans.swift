import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex

/// Data a register row on this drive stopped referencing (the `orphans` table): what an
/// overwrite, a delete or a part uploaded again leaves behind. The drive only notes it; the
/// backend's scanner hands each note to the collector, which deletes the data under the
/// reference rule (CLUSTER.md §3, F6), on every drive of the set at once.
///
/// A note is a candidate, never a verdict: the replaced value may still be chosen through a
/// write-back on other drives, or be referenced again, and the rule finds that out.
extension DriveCatalog {
    /// One note: the data, the register that referenced it, and the value that did (it says
    /// which shard files the data has).
    public struct Orphan: Sendable, Equatable {
        public var dataRef: [UInt8]
        public var key: RegisterKey
        public var payload: [UInt8]
        public var sinceMs: UInt64
    }

    /// In the transaction that wrote the register row: notes the data of the value it
    /// replaced, and forgets a note on data the new value references again.
    static func noteOrphan(replaced old: AcceptedValue?, by new: AcceptedValue?, key: RegisterKey, _ db: Database) throws {
        let newRef = new?.value.dataRef ?? []
        if !newRef.isEmpty {
            try db.cachedStatement(sql: "DELETE FROM orphans WHERE data_ref = ?").execute(arguments: [Data(newRef)])
        }
        guard let old, !old.value.dataRef.isEmpty, old.value.dataRef != newRef else { return }
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO orphans (data_ref, scope, key, payload, since_ms) VALUES (?, ?, ?, ?, ?)
            """).execute(arguments: [
                Data(old.value.dataRef), Data(key.scope), Data(key.key), Data(old.value.payload), Int64(WallClock.nowMs()),
            ])
    }

    /// Notes made at or before `notedBy` (this drive's wall ms) and not deferred past `now`,
    /// oldest first.
    public func orphans(notedBy: UInt64, now: UInt64 = WallClock.nowMs(), limit: Int) async throws -> [Orphan] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT data_ref, scope, key, payload, since_ms FROM orphans
                WHERE since_ms <= ? AND retry_ms <= ? ORDER BY since_ms LIMIT ?
                """, arguments: [Int64(clamping: notedBy), Int64(clamping: now), limit])
            return rows.map { row in
                Orphan(
                    dataRef: Array(row["data_ref"] as Data), key: RegisterKey(scope: Array(row["scope"] as Data), key: Array(row["key"] as Data)),
                    payload: Array(row["payload"] as Data), sinceMs: UInt64(row["since_ms"] as Int64))
            }
        }
    }

    /// How many notes this drive holds (the metrics' backlog).
    public func orphanCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM orphans") ?? 0 }
    }

    /// Defers a note until `untilMs` (a drive of the set was silent: try again later).
    public func deferOrphan(dataRef: [UInt8], untilMs: UInt64) async throws {
        try await commits.submit { db in
            try db.cachedStatement(sql: "UPDATE orphans SET retry_ms = ? WHERE data_ref = ?")
                .execute(arguments: [Int64(clamping: untilMs), Data(dataRef)])
        }
    }

    /// Notes the data staged here at or before `stagedBy` (wall ms) that no accept here
    /// adopted: its writer died between staging and accepting, or its accepts went to other
    /// drives. The note carries no value (the data row knows its files). Returns how many
    /// were noted.
    @discardableResult
    public func noteUnadopted(stagedBy: UInt64) async throws -> Int {
        try await commits.submit { db in
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO orphans (data_ref, scope, key, payload, since_ms)
                SELECT data_ref, scope, key, X'', created_ms FROM data
                WHERE adopted = 0 AND created_ms <= ? AND scope IS NOT NULL AND key IS NOT NULL
                """).execute(arguments: [Int64(clamping: stagedBy)])
            let noted = db.changesCount
            // Noted rows leave the unadopted index (2: unadopted, noted), so each scan reads
            // only what is new; an accept that adopts one still sets 1.
            try db.cachedStatement(sql: "UPDATE data SET adopted = 2 WHERE adopted = 0 AND created_ms <= ?")
                .execute(arguments: [Int64(clamping: stagedBy)])
            return noted
        }
    }

    /// Drops a note: the collector found the data referenced by the chosen value, so it is
    /// live (marked adopted here, so that the unadopted scan does not note it again; a later
    /// replacement notes it again).
    public func forgetOrphan(dataRef: [UInt8]) async throws {
        try await commits.submit { db in
            try db.cachedStatement(sql: "DELETE FROM orphans WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
            try db.cachedStatement(sql: "UPDATE data SET adopted = 1 WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
        }
    }
}
