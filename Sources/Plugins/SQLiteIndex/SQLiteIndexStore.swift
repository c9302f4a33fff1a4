public import GRDB

/// Opens an index database the way every Stowage index wants it: one SQLite file in WAL mode
/// through GRDB, `synchronous` FULL (survives power loss) or NORMAL (survives process crashes),
/// fewer and larger checkpoints, and the schema migrated only when it is behind, so an
/// up-to-date index opens read-only and a server restarted on a full disk still comes up.
///
/// ```swift
/// var migrator = DatabaseMigrator()
/// migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE ...") }
/// let pool = try SQLiteIndexStore.open(path: "/data/.stowage/index.sqlite", durable: true, migrator: migrator)
/// ```
public enum SQLiteIndexStore {
    public static func open(path: String, durable: Bool, migrator: DatabaseMigrator, label: String = "stowage-index", readers: Int = 8) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.label = label
        configuration.maximumReaderCount = readers
        configuration.prepareDatabase { db in
            // NORMAL in WAL mode survives process crashes; FULL also survives power loss.
            try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            // Checkpoints fsync and stall the writer: fewer, larger ones (16 MiB of WAL).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // Migrating always opens a write transaction; an index that is up to date is only read.
        if try !pool.read({ try migrator.hasCompletedMigrations($0) }) { try migrator.migrate(pool) }
        return pool
    }
}
