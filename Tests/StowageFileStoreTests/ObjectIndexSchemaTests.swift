import GRDB
@testable import StowageFileStore
import Testing

/// A new index is made in one step; older ones replay the steps they lack. Both must end with
/// the same tables, columns (in the same order), keys, indexes and foreign keys.
@Suite("Index schema")
struct ObjectIndexSchemaTests {
    /// The schema as SQLite sees it, one line per fact, sorted.
    func describe(_ db: Database) throws -> [String] {
        var facts: [String] = []
        let tables = try Row.fetchAll(db, sql: """
            SELECT name FROM sqlite_master
            WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
            """)
        facts += try String.fetchAll(db, sql: "SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('trigger', 'view')")
        for table in tables {
            let name: String = table["name"]
            let listed = try Row.fetchOne(db, sql: "SELECT wr, strict FROM pragma_table_list WHERE name = ?", arguments: [name])
            facts.append("\(name) without-rowid=\(listed?["wr"] as Int? ?? -1) strict=\(listed?["strict"] as Int? ?? -1)")
            for column in try Row.fetchAll(db, sql: "PRAGMA table_xinfo(\(name))") {
                facts.append("\(name) column \(column["cid"] as Int) \(column["name"] as String) \(column["type"] as String) notnull=\(column["notnull"] as Int) default=\(column["dflt_value"] as String? ?? "-") pk=\(column["pk"] as Int)")
            }
            for index in try Row.fetchAll(db, sql: "PRAGMA index_list(\(name))") {
                let indexName: String = index["name"]
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?)", arguments: [indexName])
                let label = indexName.hasPrefix("sqlite_autoindex") ? "auto" : indexName
                let indexSQL = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [indexName])
                let columnOrder = try Row.fetchAll(db, sql: "SELECT name, desc, coll FROM pragma_index_xinfo(?) WHERE key = 1", arguments: [indexName])
                    .map { "\($0["name"] as String? ?? "-") \($0["desc"] as Int) \($0["coll"] as String? ?? "-")" }
                facts.append("\(name) index \(label) unique=\(index["unique"] as Int) origin=\(index["origin"] as String) partial=\(index["partial"] as Int) \(columns) \(columnOrder) \(indexSQL ?? "-")")
            }
            for key in try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(\(name))") {
                facts.append("\(name) fk \(key["from"] as String) -> \(key["table"] as String).\(key["to"] as String) delete=\(key["on_delete"] as String) update=\(key["on_update"] as String)")
            }
        }
        return facts.sorted()
    }

    func fresh() throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try ObjectIndexSchema.migrator.migrate(queue)
        return queue
    }

    @Test("the one-step schema is the schema the steps build")
    func oneStepEqualsSteps() throws {
        let stepwise = try DatabaseQueue()
        try stepwise.write { db in
            for step in ObjectIndexSchema.steps { try db.execute(sql: step.sql) }
        }
        let expected = try stepwise.read(describe)
        #expect(expected.contains { $0.hasPrefix("objects column 16 part_numbers") })
        #expect(try fresh().read(describe) == expected)
    }

    @Test("an index made by an earlier version upgrades to the same schema and keeps its rows", arguments: 1...ObjectIndexSchema.steps.count)
    func upgrades(applied: Int) throws {
        // Earlier versions registered each step as its own migration.
        var old = DatabaseMigrator()
        for step in ObjectIndexSchema.steps.prefix(applied) {
            old.registerMigration(step.identifier) { db in try db.execute(sql: step.sql) }
        }
        let queue = try DatabaseQueue()
        try old.migrate(queue)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO buckets (id, name, owner_id, region, created_ms) VALUES (1, 'b', 'o', 'r', 0)")
            if applied < 3 {
                // A rename in flight, recorded the way v1 and v2 did: v3 moves it to `pending`.
                try db.execute(sql: "INSERT INTO objects (bucket_id, key, size, etag, modified_ms, inode, metadata, pending_temp) VALUES (1, x'6b', 1, 'e', 0, 7, x'', 'tmp-1')")
            }
        }
        try ObjectIndexSchema.migrator.migrate(queue)
        #expect(try queue.read { db in try ObjectIndexSchema.migrator.hasCompletedMigrations(db) })
        #expect(try queue.read(describe) == fresh().read(describe))
        #expect(try queue.read { db in try String.fetchOne(db, sql: "SELECT name FROM buckets") } == "b")
        if applied < 3 {
            #expect(try queue.read { db in try String.fetchOne(db, sql: "SELECT temp FROM pending WHERE inode = 7") } == "tmp-1")
        }
    }
}
