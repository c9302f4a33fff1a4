import Foundation
import GRDB
import Logging
import StowageCore
import StowageSQLiteIndex
import Testing

/// A real SQLite file in a temporary directory, with a `t(scope, key BLOB, value)` table.
private struct TestIndex: GroupCommitWriter {
    let pool: DatabasePool
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-index-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "CREATE TABLE t (scope INTEGER NOT NULL, key BLOB NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key))")
        }
        pool = try SQLiteIndexStore.open(path: directory + "/index.sqlite", durable: false, migrator: migrator)
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T { try pool.write(body) }
    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

@Suite("SQLite index library", .timeLimit(.minutes(1)))
struct SQLiteIndexTests {
    @Test("the keyset scan pages exactly as the pager over the same keys in memory, on seeded random trees")
    func keysetScanAgreesWithThePager() throws {
        let index = try TestIndex()
        defer { index.remove() }
        var seed: UInt64 = 20261203
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        let alphabet = ["a", "b", "/", "é", "-"]
        var keys: Set<String> = []
        while keys.count < 300 { keys.insert((0..<(1 + next(6))).map { _ in alphabet[next(alphabet.count)] }.joined()) }
        let stored = keys
        try index.pool.write { db in
            for key in stored { try db.execute(sql: "INSERT INTO t VALUES (1, ?, ?)", arguments: [Data(key.utf8), "v-\(key)"]) }
            // Another scope's rows must never show.
            try db.execute(sql: "INSERT INTO t VALUES (2, ?, 'other')", arguments: [Data("a".utf8)])
        }
        let sorted = keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        let scan = KeysetScan(table: "t", key: "key", columns: "value", scope: "scope = ?", scopeArguments: [1])
        for _ in 0..<200 {
            let prefix = next(3) == 0 ? "" : alphabet[next(alphabet.count)]
            let delimiter = [nil, "/", "b"][next(3)]
            let marker = next(2) == 0 ? nil : (0..<next(4)).map { _ in alphabet[next(alphabet.count)] }.joined()
            let maxKeys = 1 + next(12)
            var fromSQL = ListingPager<String>(prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
            let got = try index.pool.read { db in
                try scan.page(db, pager: &fromSQL) { key, row in "\(String(decoding: key, as: UTF8.self))=\(row[1] as String)" }
            }
            var fromMemory = ListingPager<String>(prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
            for key in sorted where fromMemory.offer(key, entry: { "\(String(decoding: key, as: UTF8.self))=v-\(String(decoding: key, as: UTF8.self))" }) == .done { break }
            let expected = fromMemory.page
            #expect(got.entries == expected.entries && got.commonPrefixes == expected.commonPrefixes
                    && got.isTruncated == expected.isTruncated && got.nextMarker == expected.nextMarker,
                    "prefix \(prefix) delimiter \(delimiter ?? "-") marker \(marker ?? "-") max \(maxKeys)")
        }
    }

    @Test("group commit: concurrent changes share batches, a failing one is rolled back alone, afterCommit runs only for the rest")
    func groupCommit() async throws {
        let index = try TestIndex()
        defer { index.remove() }
        let queue = GroupCommitQueue(writer: index, logger: Logger(label: "test"), name: "test-commit")
        struct Refused: Error {}
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for item in 0..<100 {
                group.addTask {
                    do {
                        try await queue.submit { db in
                            try db.execute(sql: "INSERT INTO t VALUES (1, ?, 'x')", arguments: [Data("k\(item)".utf8)])
                            if item % 10 == 0 { throw Refused() }
                        }
                        return (item, true)
                    } catch {
                        return (item, false)
                    }
                }
            }
            var all: [Int: Bool] = [:]
            for await (item, ok) in group { all[item] = ok }
            return all
        }
        #expect(results.filter { !$0.value }.keys.sorted() == stride(from: 0, to: 100, by: 10).map { $0 })
        let count = try await index.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t")! }
        #expect(count == 90)
        queue.stop()
        await #expect(throws: GroupCommitQueue.ServiceStopped.self) {
            try await queue.submit { db in try db.execute(sql: "INSERT INTO t VALUES (1, 'late', 'x')") }
        }
    }

    @Test("an index that is up to date opens without migrating again")
    func reopenKeepsData() throws {
        let index = try TestIndex()
        defer { index.remove() }
        try index.pool.write { db in try db.execute(sql: "INSERT INTO t VALUES (1, 'k', 'v')") }
        try index.pool.close()
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { _ in Issue.record("v1 ran twice") }
        let reopened = try SQLiteIndexStore.open(path: index.directory + "/index.sqlite", durable: true, migrator: migrator)
        #expect(try reopened.read { db in try String.fetchOne(db, sql: "SELECT value FROM t") } == "v")
    }

    @Test("commits are as durable as asked: FULL when durable, NORMAL otherwise, new or reopened")
    func synchronousSetting() throws {
        for durable in [true, false] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-sync-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE t (k BLOB PRIMARY KEY)") }
            let created = try SQLiteIndexStore.open(path: directory + "/i.sqlite", durable: durable, migrator: migrator)
            #expect(try SQLiteIndexStore.writerSynchronous(created) == (durable ? 2 : 1))
            try created.close()
            let reopened = try SQLiteIndexStore.open(path: directory + "/i.sqlite", durable: durable, migrator: migrator)
            #expect(try SQLiteIndexStore.writerSynchronous(reopened) == (durable ? 2 : 1))
            #expect(try reopened.read { db in try db.tableExists("t") })
        }
    }

    /// Frames a WAL holds for the next open: those after the header whose salts match it.
    func walFrames(_ path: String) throws -> Int {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 32 else { return 0 }
        let pageSize = Int(bytes[8]) << 24 | Int(bytes[9]) << 16 | Int(bytes[10]) << 8 | Int(bytes[11])
        let salts = Array(bytes[16..<24])
        var frames = 0
        var offset = 32
        while offset + 24 + pageSize <= bytes.count, Array(bytes[(offset + 8)..<(offset + 16)]) == salts {
            frames += 1
            offset += 24 + pageSize
        }
        return frames
    }

    @Test("opening an index writes nothing (such a write would sync): new or reopened, the schema is only the migrations'")
    func openingDoesNotWrite() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-wal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE t (k BLOB PRIMARY KEY)") }
        // GRDB creates and drops a table when it opens a pool on a missing or empty WAL file:
        // each schema change bumps `schema_version`, so only the migrations' changes may show.
        let reference = try DatabaseQueue()
        try migrator.migrate(reference)
        let expected = try reference.read { db in try Int.fetchOne(db, sql: "PRAGMA schema_version") }
        let path = directory + "/i.sqlite"
        for round in 0..<3 {
            let pool = try SQLiteIndexStore.open(path: path, durable: true, migrator: migrator)
            #expect(try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA schema_version") } == expected)
            // Plenty of WAL to leave behind: closing folds it into the database and leaves the
            // next open one frame to read.
            try pool.write { db in
                for index in 0..<2000 {
                    try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [Data("\(round)-\(index)-".utf8) + Data(repeating: 1, count: 1000)])
                }
            }
            try SQLiteIndexStore.close(pool)
            #expect(try walFrames(path + "-wal") == 1)
            // A small WAL is left as it is (folding it would cost the stop a sync).
            let small = try SQLiteIndexStore.open(path: path, durable: true, migrator: migrator)
            try small.write { db in try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [Data("\(round)-small".utf8)]) }
            try SQLiteIndexStore.close(small)
            #expect(try walFrames(path + "-wal") > 1)
        }
        let reopened = try SQLiteIndexStore.open(path: path, durable: false, migrator: migrator)
        #expect(try reopened.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") } == 6003)
        try SQLiteIndexStore.close(reopened)
    }
}
