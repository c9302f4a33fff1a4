import Foundation
import GRDB
import StowageSQLiteIndex
import Testing

/// The point reader sees every committed write at once, whichever statements ran before on
/// its connections (an un-reset statement would pin an old snapshot), and refuses nothing a
/// GRDB pool reads.
@Suite("SQLite point reader", .timeLimit(.minutes(1)))
struct SQLitePointReaderTests {
    private func database() throws -> (DatabasePool, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("point-reader-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "CREATE TABLE t (key BLOB PRIMARY KEY, value BLOB, n INTEGER) WITHOUT ROWID")
            try db.execute(sql: "CREATE TABLE u (key BLOB PRIMARY KEY, n INTEGER) WITHOUT ROWID")
        }
        return (try SQLiteIndexStore.open(path: directory + "/db.sqlite", durable: false, migrator: migrator), directory)
    }

    @Test("reads the newest commit after alternating statements on its connection")
    func seesEveryCommit() throws {
        let (pool, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = try SQLitePointReader(path: directory + "/db.sqlite")
        for version in 1...50 {
            try pool.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO t (key, value, n) VALUES (?, ?, ?)", arguments: [Data([1]), Data([UInt8(version)]), version])
                try db.execute(sql: "INSERT OR REPLACE INTO u (key, n) VALUES (?, ?)", arguments: [Data([1]), version])
            }
            let t = try reader.row("SELECT value, n FROM t WHERE key = ?", [.blob([1])]) { ($0.blob(0), $0.int(1)) }
            let u = try reader.row("SELECT n FROM u WHERE key = ?", [.blob([1])]) { $0.int(0) }
            #expect(t?.0 == [UInt8(version)] && t?.1 == Int64(version) && u == Int64(version))
        }
        #expect(try reader.row("SELECT n FROM t WHERE key = ?", [.blob([9])]) { $0.int(0) } == nil)
        #expect(try reader.row("SELECT value FROM t WHERE key = ?", [.blob([1])]) { $0.isNull(0) } == false)
        try SQLiteIndexStore.close(pool)
    }

    @Test("concurrent readers share the connection and each get the right row")
    func concurrentReads() async throws {
        let (pool, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await pool.write { db in
            for i in 0..<100 {
                try db.execute(sql: "INSERT INTO t (key, value, n) VALUES (?, ?, ?)", arguments: [Data([UInt8(i)]), Data(), i])
            }
        }
        let reader = try SQLitePointReader(path: directory + "/db.sqlite", cacheKiB: 512)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<400 {
                group.addTask {
                    let key = UInt8(i % 100)
                    let row = try reader.row("SELECT n, value FROM t WHERE key = ?", [.blob([key])]) { ($0.int(0), $0.blob(1)) }
                    return row?.0 == Int64(key) && row?.1 == []
                }
            }
            for try await ok in group { #expect(ok) }
        }
        #expect(throws: SQLitePointReader.Failure.self) { try reader.row("SELECT nope FROM t", []) { $0.int(0) } }
        try SQLiteIndexStore.close(pool)
    }
}
