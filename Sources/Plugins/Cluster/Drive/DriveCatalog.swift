import Foundation
import GRDB
public import Logging
import StowageSQLiteIndex
import Synchronization

/// One drive's catalog: the acceptor state of every register whose set includes the drive,
/// in SQLite, written through a group-commit queue so each verb is one savepoint of a shared
/// transaction and its reply leaves only once that transaction is durable (CLUSTER.md §2–3).
///
/// ```swift
/// let catalog = try DriveCatalog.open(path: "/mnt/d1/.stowage/catalog.sqlite", durable: true, logger: log)
/// let reply = try await catalog.apply(.prepare(ballot), to: key, wallMs: now, isVoter: true)
/// ```
public final class DriveCatalog: Sendable {
    let pool: DatabasePool
    /// Register and inline-shard point reads (a GET makes about ten).
    let points: SQLitePointReader
    let commits: GroupCommitQueue

    private let learns = PendingLearns()
    /// Whether any fence row exists: accepts skip the fence look-up until one does.
    let fenced = Atomic<Bool>(true)

    private init(pool: DatabasePool, points: SQLitePointReader, logger: Logger, name: String) {
        self.pool = pool
        self.points = points
        self.commits = GroupCommitQueue(writer: PoolWriter(pool: pool, learns: learns), logger: logger, name: name)
    }

    /// Applies `learn(ballot, writeID)` in the drive's next transaction, or within 20 ms if
    /// none comes: a learn costs no transaction of its own.
    public func learnLater(_ key: RegisterKey, ballot: Ballot, writeID: WriteID) {
        guard learns.add(.init(key: key, ballot: ballot, writeID: writeID)) else { return }
        let commits = self.commits
        Task {
            try? await Task.sleep(for: .milliseconds(20))
            _ = try? await commits.submit { _ in }
        }
    }

    static func applyLearn(_ learn: PendingLearns.Learn, _ db: Database) throws {
        let stored = try record(learn.key, db)
        let context = AcceptorRules.Context(wallMs: 0, maxClockOffsetMs: .max / 2)
        let step = AcceptorRules.handle(.learn(learn.ballot, learn.writeID), record: stored, context: context)
        if let changed = step.record { try write(changed, learn.key, db) }
    }

    /// Opens (creating if needed) the catalog at `path`. `durable`: `synchronous=FULL`, else
    /// NORMAL (never OFF: a single-node server with `storage.fsync: false` still survives a
    /// process crash).
    public static func open(path: String, durable: Bool, logger: Logger, name: String = "stowage-drive") throws -> DriveCatalog {
        let pool = try SQLiteIndexStore.open(
            path: path, durable: durable, migrator: DriveCatalogSchema.migrator, label: name, readers: 4)
        do {
            let catalog = DriveCatalog(pool: pool, points: try SQLitePointReader(path: path), logger: logger, name: name)
            try catalog.loadFenceFlag()
            return catalog
        } catch {
            try? SQLiteIndexStore.close(pool)
            throw error
        }
    }

    public func close() throws {
        commits.stop()
        try SQLiteIndexStore.close(pool)
    }

    /// Runs one acceptor verb on `key` and returns the reply once its change is durable.
    public func apply(
        _ request: AcceptorRequest, to key: RegisterKey, wallMs: UInt64, isVoter: Bool,
        maxClockOffsetMs: UInt64 = 500
    ) async throws -> AcceptorReply {
        if case .read = request {
            // A read changes nothing: it answers from committed state on a reader connection
            // instead of taking a turn in the writer's queue. Committed is as durable as this
            // catalog's writes are (FULL: synced; NORMAL: survives a process crash).
            guard isVoter else { return .notVoter }
            // Synchronous on purpose: a point read from SQLite's cache costs microseconds,
            // less than the two thread switches an asynchronous read costs.
            let record = try record(key)
            return .state(accepted: record?.accepted, chosen: record?.chosen ?? false)
        }
        return try await commits.submit { db in
            let stored = try Self.record(key, db)
            var context = AcceptorRules.Context(
                wallMs: wallMs, maxClockOffsetMs: maxClockOffsetMs, isVoter: isVoter,
                setFloor: try Self.ballotMeta("set_floor", db), rowlessFloor: try Self.ballotMeta("rowless_floor", db))
            // Read in the transaction: a fence's flag is raised before its own transaction is
            // queued, so every accept ordered after that transaction looks the fence up.
            if self.fenced.load(ordering: .relaxed), request.proposedBallot != nil, try Self.isFenced(key.scope, db) {
                // A bucket being deleted, or deleted: no vote for its keys.
                return .notVoter
            }
            let dataRef = Self.dataRef(of: request)
            if let dataRef { context.dataPresent = try Self.holdsData(dataRef, db) }
            let step = AcceptorRules.handle(request, record: stored, context: context)
            if let record = step.record {
                try Self.write(record, key, db)
                if let dataRef, context.dataPresent {
                    try db.cachedStatement(sql: "UPDATE data SET adopted = 1, condemned = 0 WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
                }
                try Self.noteOrphan(replaced: stored?.accepted, by: record.accepted, key: key, db)
            }
            return step.reply
        }
    }

    /// A stage of data a collector run condemned while this drive held none of it.
    public struct StagingRefused: Error, CustomStringConvertible {
        public let dataRef: [UInt8]
        public var description: String { "staging refused: the data is condemned on this drive" }
    }

    /// Records that a value's data is on this drive (its shard files are written and synced):
    /// `owner`, the register its writer staged it for; `fileParts`, its shards that are files.
    public func stage(dataRef: [UInt8], owner: RegisterKey?, fileParts: [Int], wallMs: UInt64) async throws {
        try await commits.submit { db in try Self.insertData(dataRef, owner: owner, fileParts: fileParts, wallMs: wallMs, db) }
    }

    /// Stages a small object's shard in the inline table (with its data row) in one commit.
    public func stageInline(dataRef: [UInt8], owner: RegisterKey?, part: Int, slot: Int, shard: [UInt8], wallMs: UInt64) async throws {
        try await commits.submit { db in
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO inline (data_ref, part, slot, bytes) VALUES (?, ?, ?, ?)").execute(arguments: [Data(dataRef), part, slot, Data(shard)])
            try Self.insertData(dataRef, owner: owner, fileParts: [], wallMs: wallMs, db)
        }
    }

    private static func insertData(_ dataRef: [UInt8], owner: RegisterKey?, fileParts: [Int], wallMs: UInt64, _ db: Database) throws {
        guard try !condemnedAbsent(dataRef, db) else { throw StagingRefused(dataRef: dataRef) }
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO data (data_ref, adopted, created_ms, scope, key, file_parts) VALUES (?, 0, ?, ?, ?, ?)
            """).execute(arguments: [
                Data(dataRef), Int64(wallMs), owner.map { Data($0.scope) }, owner.map { Data($0.key) },
                fileParts.map(String.init).joined(separator: ","),
            ])
    }

    /// A multipart Complete's staging of `target` (``SetDrive/stageLinked``), in one commit:
    /// of the parts whose attempt this drive still holds (not condemned), inline shards are
    /// copied under the target (file shards were linked before); the target's data row is
    /// made only when `required` parts count (every part of the object that has a shard here:
    /// an accept counts this drive as holding the object's data, all of it). Returns the part
    /// numbers that count.
    public func stageLinked(
        target: [UInt8], owner: RegisterKey?, attempts: [(attempt: [UInt8], number: Int, slot: Int, inline: Bool)], required: Int, wallMs: UInt64
    ) async throws -> [Int] {
        try await commits.submit { db in
            var counted: [Int] = []
            for shard in attempts {
                guard try Self.holdsData(shard.attempt, db) else { continue }
                if shard.inline {
                    try db.cachedStatement(sql: """
                        INSERT OR REPLACE INTO inline (data_ref, part, slot, bytes)
                        SELECT ?, ?, slot, bytes FROM inline WHERE data_ref = ? AND part = 1 AND slot = ?
                        """).execute(arguments: [Data(target), shard.number, Data(shard.attempt), shard.slot])
                    guard db.changesCount == 1 else { continue }
                }
                counted.append(shard.number)
            }
            if counted.count == required {
                let files = attempts.filter { !$0.inline && counted.contains($0.number) }.map(\.number)
                try Self.insertData(target, owner: owner, fileParts: files, wallMs: wallMs, db)
            }
            return counted
        }
    }

    /// Whether the drive holds the data, not condemned (committed state).
    public func holds(dataRef: [UInt8]) throws -> Bool {
        try points.row(
            "SELECT 1 FROM data WHERE data_ref = ? AND condemned <= ?", [.blob(dataRef), .int(Int64(WallClock.nowMs()))]
        ) { _ in true } ?? false
    }

    /// A shard kept inline, as staged (`[crc32c][block]`).
    public func inlineShard(dataRef: [UInt8], part: Int, slot: Int) throws -> [UInt8]? {
        try points.row(
            "SELECT bytes FROM inline WHERE data_ref = ? AND part = ? AND slot = ?",
            [.blob(dataRef), .int(Int64(part)), .int(Int64(slot))]
        ) { $0.blob(0) } ?? nil
    }

    /// Forgets staged data that no register value references: only for a write whose
    /// every drive refused it (nothing was accepted, so nothing can ever reference it).
    /// True when this drive holds none of it afterwards (its files may go); false when an
    /// accept adopted it, which keeps it.
    public func discardStaged(dataRef: [UInt8]) async throws -> Bool {
        try await commits.submit { db in
            let adopted = try Int.fetchOne(db.cachedStatement(sql: "SELECT adopted FROM data WHERE data_ref = ?"), arguments: [Data(dataRef)])
            guard adopted != 1 else { return false }
            try db.cachedStatement(sql: "DELETE FROM inline WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
            try db.cachedStatement(sql: "DELETE FROM data WHERE data_ref = ?").execute(arguments: [Data(dataRef)])
            return true
        }
    }

    /// Keys under `scope` starting with `prefix` whose accepted value on this drive is not
    /// a tombstone, in key order: candidates that a register read then resolves.
    /// `after`: continue past this key (paging).
    public func liveKeys(scope: [UInt8], prefix: [UInt8] = [], after: [UInt8]? = nil, limit: Int = 1_000) async throws -> [[UInt8]] {
        try await pool.read { db in
            let sql = "SELECT key FROM registers WHERE scope = ? AND key > ? AND ballot IS NOT NULL AND tomb = 0 "
                + "AND substr(key, 1, ?) = ? ORDER BY key LIMIT ?"
            let rows = try Data.fetchAll(db, sql: sql, arguments: [Data(scope), Data(after ?? []), prefix.count, Data(prefix), limit])
            return rows.map(Array.init)
        }
    }

    /// The key's stored record (nil: none), as the last committed transaction left it.
    public func record(_ key: RegisterKey) throws -> AcceptorRecord? {
        // One autocommit SELECT: the newest committed snapshot (see SQLitePointReader on why
        // each statement is reset at once).
        let sql = "SELECT promised, ballot, write_id, chosen, tomb, value, data_ref FROM registers WHERE scope = ? AND key = ?"
        let found = try points.row(sql, [.blob(key.scope), .blob(key.key)]) { Self.record($0) }
        guard let found else { return nil }
        guard let record = found else { throw CorruptRow(key: key) }
        return record
    }

    /// The key's record, and this drive's inline shard of the accepted value's data (part
    /// 1) if it holds one: a GET's register read and most of its shard reads in one statement.
    public func recordWithInline(_ key: RegisterKey) throws -> (record: AcceptorRecord?, inline: (slot: Int, bytes: [UInt8])?) {
        let sql = """
            SELECT r.promised, r.ballot, r.write_id, r.chosen, r.tomb, r.value, r.data_ref, i.slot, i.bytes
            FROM registers r LEFT JOIN inline i ON i.data_ref = r.data_ref AND i.part = 1
            WHERE r.scope = ? AND r.key = ? LIMIT 1
            """
        let found = try points.row(sql, [.blob(key.scope), .blob(key.key)]) { row -> (AcceptorRecord, (slot: Int, bytes: [UInt8])?)? in
            guard let record = Self.record(row) else { return nil }
            let inline = row.isNull(8) ? nil : row.blob(8).map { (slot: Int(row.int(7)), bytes: $0) }
            return (record, inline)
        }
        guard let found else { return (nil, nil) }
        guard let (record, inline) = found else { throw CorruptRow(key: key) }
        return (record, inline)
    }

    /// A register row read by a point reader: columns promised, ballot, write_id, chosen,
    /// tomb, value, data_ref (nil: it does not decode).
    private static func record(_ row: SQLitePointReader.Row) -> AcceptorRecord? {
        guard let promised = row.blob(0).flatMap({ Ballot(bytes: $0) }) else { return nil }
        var record = AcceptorRecord(promised: promised, chosen: row.int(3) != 0)
        if let ballotBytes = row.blob(1) {
            guard let ballot = Ballot(bytes: ballotBytes), let writeID = WriteID(bytes: row.blob(2) ?? []) else { return nil }
            let value = RegisterValue(writeID: writeID, tombstone: row.int(4) != 0, payload: row.blob(5) ?? [], dataRef: row.blob(6) ?? [])
            record.accepted = AcceptedValue(ballot: ballot, value: value)
        }
        return record
    }

    /// The HLC reservation ("ballots issued up to") persisted on this drive; 0 if none.
    public func clockReservation() throws -> UInt64 {
        try pool.read { db in try Self.uint64Meta("hlc_reserved", db) }
    }

    /// Persists a new HLC reservation (never lowers it).
    public func reserveClock(upToMs: UInt64) async throws {
        try await commits.submit { db in
            guard try Self.uint64Meta("hlc_reserved", db) < upToMs else { return }
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta (name, value) VALUES ('hlc_reserved', ?)").execute(arguments: [Data(withUnsafeBytes(of: upToMs.bigEndian) { Array($0) })])
        }
    }

    // MARK: - Rows

    private static func dataRef(of request: AcceptorRequest) -> [UInt8]? {
        switch request {
        case .accept(_, let value, _), .commit(_, let value): return value.dataRef.isEmpty ? nil : value.dataRef
        case .prepare, .learn, .read: return nil
        }
    }

    private static func holdsData(_ dataRef: [UInt8], _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM data WHERE data_ref = ? AND condemned <= ?"),
            arguments: [Data(dataRef), Int64(WallClock.nowMs())]) ?? false
    }

    static func record(_ key: RegisterKey, _ db: Database) throws -> AcceptorRecord? {
        let sql = "SELECT promised, ballot, write_id, chosen, tomb, value, data_ref FROM registers WHERE scope = ? AND key = ?"
        guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [Data(key.scope), Data(key.key)]) else {
            return nil
        }
        var record = AcceptorRecord(promised: try ballot(row["promised"]), chosen: row["chosen"] as Bool)
        if let ballotBytes = row["ballot"] as Data? {
            guard let writeID = WriteID(bytes: row["write_id"] as Data? ?? Data()) else { throw CorruptRow(key: key) }
            let value = RegisterValue(
                writeID: writeID, tombstone: row["tomb"] as Bool, payload: Array(row["value"] as Data? ?? Data()),
                dataRef: Array(row["data_ref"] as Data? ?? Data()))
            record.accepted = AcceptedValue(ballot: try ballot(ballotBytes), value: value)
        }
        return record
    }

    private static func write(_ record: AcceptorRecord, _ key: RegisterKey, _ db: Database) throws {
        let sql = """
            INSERT OR REPLACE INTO registers (scope, key, promised, ballot, write_id, chosen, tomb, value, data_ref)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        let accepted = record.accepted
        try db.cachedStatement(sql: sql).execute(arguments: [
            Data(key.scope), Data(key.key), Data(record.promised.bytes),
            accepted.map { Data($0.ballot.bytes) }, accepted.map { Data($0.value.writeID.bytes) },
            record.chosen, accepted?.value.tombstone ?? false,
            accepted.map { Data($0.value.payload) }, accepted.map { Data($0.value.dataRef) },
        ])
    }

    private static func ballot(_ data: Data?) throws -> Ballot {
        guard let data, let ballot = Ballot(bytes: data) else { throw CorruptRow(key: nil) }
        return ballot
    }

    private static func ballotMeta(_ name: String, _ db: Database) throws -> Ballot {
        guard let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE name = ?"), arguments: [name]) else { return .zero }
        return try ballot(data)
    }

    private static func uint64Meta(_ name: String, _ db: Database) throws -> UInt64 {
        guard let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE name = ?"), arguments: [name]) else { return 0 }
        return data.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A row that does not decode: the catalog is damaged; the drive must stop voting.
    public struct CorruptRow: Error, CustomStringConvertible {
        public let key: RegisterKey?
        public var description: String { "a catalog row does not decode" + (key.map { " (key \($0.key.count) bytes)" } ?? "") }
    }
}

/// One write transaction per group-commit batch, straight on the pool.
private struct PoolWriter: GroupCommitWriter {
    let pool: DatabasePool
    let learns: PendingLearns

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        let queued = learns.take()
        return try pool.write { db in
            // A learn that fails is dropped; it must not fail the batch's other changes.
            for learn in queued { try? DriveCatalog.applyLearn(learn, db) }
            return try body(db)
        }
    }
}

/// Learns waiting for the drive's next transaction. A learn only marks a value known chosen,
/// which saves later reads a write-back; losing one (a crash, a failed batch) loses nothing.
final class PendingLearns: Sendable {
    struct Learn: Sendable {
        let key: RegisterKey
        let ballot: Ballot
        let writeID: WriteID
    }

    private let list = Mutex<[Learn]>([])

    /// Appends; true when the list was empty (the caller arranges a flush).
    func add(_ learn: Learn) -> Bool {
        list.withLock { list in
            list.append(learn)
            return list.count == 1
        }
    }

    func take() -> [Learn] {
        list.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
    }
}
