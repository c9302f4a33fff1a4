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
            SELECT name, sql FROM sqlite_master
            WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
            """)
        for table in tables {
            let name: String = table["name"]
            let sql: String = table["sql"]
            facts.append("\(name) without-rowid=\(sql.uppercased().contains("WITHOUT ROWID"))")
            for column in try Row.fetchAll(db, sql: "PRAGMA table_xinfo(\(name))") {
                facts.append("\(name) column \(column["cid"] as Int) \(column["name"] as String) \(column["type"] as String) notnull=\(column["notnull"] as Int) default=\(column["dflt_value"] as String? ?? "-") pk=\(column["pk"] as Int)")
            }
            for index in try Row.fetchAll(db, sql: "PRAGMA index_list(\(name))") {
                let indexName: String = index["name"]
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?)", arguments: [indexName])
                let label = indexName.hasPrefix("sqlite_autoindex") ? "auto" : indexName
                facts.append("\(name) index \(label) unique=\(index["unique"] as Int) origin=\(index["origin"] as String) partial=\(index["partial"] as Int) \(columns)")
            }
            for key in try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(\(name))") {
                facts.append("\(name) fk \(key["from"] as String) -> \(key["table"] as String).\(key["to"] as String) delete=\(key["on_delete"] as String)")
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

    @Test("an index made by an earlier version upgrades to the same schema and keeps its rows", arguments: 1..<ObjectIndexSchema.steps.count)
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
        }
        try ObjectIndexSchema.migrator.migrate(queue)
        #expect(try queue.read { db in try ObjectIndexSchema.migrator.hasCompletedMigrations(db) })
        #expect(try queue.read(describe) == fresh().read(describe))
        #expect(try queue.read { db in try String.fetchOne(db, sql: "SELECT name FROM buckets") } == "b")
    }
}
