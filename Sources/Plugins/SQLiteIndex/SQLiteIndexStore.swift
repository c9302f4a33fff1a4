import Foundation
public import GRDB
import Synchronization

/// Opens an index database the way every Stowage index wants it: one SQLite file in WAL mode
/// through GRDB, `synchronous` FULL (survives power loss) or NORMAL (survives process crashes),
/// fewer and larger checkpoints, and the schema migrated only when it is behind, so an
/// up-to-date index opens read-only and a server restarted on a full disk still comes up.
///
/// A new index is created without syncing as it goes (switching an empty file to WAL and
/// creating the schema would cost five syncs, the bulk of a cold start): nothing in it can be
/// lost yet. A durable index then syncs the finished files once.
///
/// ```swift
/// var migrator = DatabaseMigrator()
/// migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE ...") }
/// let pool = try SQLiteIndexStore.open(path: "/data/.stowage/index.sqlite", durable: true, migrator: migrator)
/// ```
public enum SQLiteIndexStore {
    public static func open(path: String, durable: Bool, migrator: DatabaseMigrator, label: String = "stowage-index", readers: Int = 8) throws -> DatabasePool {
        let synchronous = durable ? "FULL" : "NORMAL"
        let creating = Atomic<Bool>(!FileManager.default.fileExists(atPath: path))
        var configuration = Configuration()
        configuration.label = label
        configuration.maximumReaderCount = readers
        configuration.prepareDatabase { db in
            // NORMAL in WAL mode survives process crashes; FULL also survives power loss. OFF
            // only while a new, empty index is being created.
            try db.execute(sql: "PRAGMA synchronous = \(creating.load(ordering: .relaxed) ? "OFF" : synchronous)")
            // Checkpoints fsync and stall the writer: fewer, larger ones (16 MiB of WAL).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        if creating.load(ordering: .relaxed) {
            // GRDB switched the new file to WAL with `synchronous = NORMAL`, which would sync the
            // WAL header and the directory on the first commit: the empty index is built
            // without syncs and, when durable, synced once below.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
            try migrator.migrate(pool)
        } else if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
            // Migrating always opens a write transaction; an index that is up to date is only read.
            try migrator.migrate(pool)
        }
        // GRDB sets `synchronous = NORMAL` on the writer when it switches a file to WAL, after
        // `prepareDatabase`: the setting that makes commits durable is applied last, here.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        if creating.exchange(false, ordering: .relaxed), durable {
            try syncCreatedFiles(path)
        }
        return pool
    }

    /// The synchronous setting of the pool's writer (for tests and diagnostics): 0 OFF, 1 NORMAL, 2 FULL.
    public static func writerSynchronous(_ pool: DatabasePool) throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Makes a newly created index durable in one pass: the database, its WAL and the directory
    /// entry that names them.
    private static func syncCreatedFiles(_ path: String) throws {
        for file in [path, path + "-wal", (path as NSString).deletingLastPathComponent] {
            let fd = Foundation.open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { _ = close(fd) }
            guard fsync(fd) == 0 else {
                throw DatabaseError(resultCode: .SQLITE_IOERR, message: "fsync of \(file) failed (errno \(errno))")
            }
        }
    }
}
