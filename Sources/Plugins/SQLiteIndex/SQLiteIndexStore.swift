import Foundation
public import GRDB
import GRDBSQLite

/// Opens an index database the way every Stowage index wants it: one SQLite file in WAL mode
/// through GRDB, `synchronous` FULL (survives power loss) or NORMAL (survives process crashes),
/// fewer and larger checkpoints, and the schema migrated only when it is behind, so an
/// up-to-date index opens read-only and a server restarted on a full disk still comes up.
///
/// Start-up never syncs for bookkeeping. GRDB writes to the WAL when it opens a pool whose WAL
/// file is missing or empty, and under `synchronous = NORMAL` that first write syncs the WAL
/// header and the directory. So every connection keeps its WAL file when it closes
/// (`SQLITE_FCNTL_PERSIST_WAL`): a restarted index finds it and opens without writing. A new
/// index is built before the pool opens, in WAL mode with syncs off (nothing in it can be lost
/// yet), and a durable one then syncs the finished files once.
///
/// ```swift
/// var migrator = DatabaseMigrator()
/// migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE ...") }
/// let pool = try SQLiteIndexStore.open(path: "/data/.stowage/index.sqlite", durable: true, migrator: migrator)
/// ```
public enum SQLiteIndexStore {
    public static func open(path: String, durable: Bool, migrator: DatabaseMigrator, label: String = "stowage-index", readers: Int = 8) throws -> DatabasePool {
        let synchronous = durable ? "FULL" : "NORMAL"
        let creating = !FileManager.default.fileExists(atPath: path)
        if creating { try createWALFile(path: path) }
        var configuration = Configuration()
        configuration.label = label
        configuration.maximumReaderCount = readers
        configuration.prepareDatabase { db in
            keepWALFile(db)
            // NORMAL in WAL mode survives process crashes; FULL also survives power loss.
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Checkpoints fsync and stall the writer: fewer, larger ones (16 MiB of WAL).
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
            // A limit would make a closing connection truncate the WAL to nothing (see `close`).
            try db.execute(sql: "PRAGMA journal_size_limit = -1")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        if creating {
            // Nothing in a new index can be lost yet: its schema goes in without syncs.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
            try migrator.migrate(pool)
        } else if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
            // Migrating always opens a write transaction; an index that is up to date is only read.
            try migrator.migrate(pool)
        }
        // GRDB sets `synchronous = NORMAL` on the writer when it opens a pool, after
        // `prepareDatabase`: the setting that makes commits durable is applied last, here.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        if creating, durable { try syncCreatedFiles(path) }
        return pool
    }

    /// Makes a new index file in WAL mode whose WAL file is not empty, without a sync: then
    /// GRDB's pool opens it without writing. (Straight through SQLite's C API: a GRDB
    /// `DatabaseQueue` costs more to tear down than the whole file costs to make.)
    private static func createWALFile(path: String) throws {
        var connection: OpaquePointer?
        defer { sqlite3_close(connection) }
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
              let connection else {
            throw DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "cannot create the index at \(path): \(connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")")
        }
        var persist: CInt = 1
        _ = sqlite3_file_control(connection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
        // A header write (user_version stays 0) puts the first frames in the WAL.
        let setUp = "PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL; PRAGMA user_version = 0;"
        guard sqlite3_exec(connection, setUp, nil, nil, nil) == SQLITE_OK else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "cannot set up the index at \(path): \(String(cString: sqlite3_errmsg(connection)))")
        }
    }

    /// Closes an index so that the next start reads little and writes nothing. A WAL file over
    /// 1 MiB is checkpointed into the database and truncated, then one frame (`user_version`
    /// written again, unsynced: losing it loses nothing) is left, so the next open reads one
    /// frame instead of up to 16 MiB and still finds a WAL that is not empty. A smaller one
    /// stays as it is: reading it costs the next start less than a checkpoint's syncs cost this
    /// stop. Best effort: with busy readers nothing is folded. (The truncation frees over 1 MiB,
    /// so the frame after it finds room even on a full disk; FileStore's open releases its
    /// space reserve should the next start need to write after all.)
    ///
    /// A copy of `index.sqlite` is only a copy of the index together with its `-wal` file.
    public static func close(_ pool: DatabasePool) throws {
        let walSize = (try? FileManager.default.attributesOfItem(atPath: pool.path + "-wal")[.size] as? NSNumber)?.intValue ?? 0
        if walSize > foldedWALSize { fold(pool) }
        try pool.close()
    }

    /// WALs larger than this are folded into the database when the index closes.
    static let foldedWALSize = 1 << 20

    private static func fold(_ pool: DatabasePool) {
        try? pool.writeWithoutTransaction { db in
            guard let result = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)"), result[0] as Int == 0 else { return }
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA user_version = \(version)")
        }
    }

    /// Keeps the WAL file when the connection closes (checkpointed, not deleted).
    private static func keepWALFile(_ db: Database) {
        var persist: CInt = 1
        _ = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
    }

    /// The synchronous setting of the pool's writer (for tests and diagnostics): 0 OFF, 1 NORMAL, 2 FULL.
    public static func writerSynchronous(_ pool: DatabasePool) throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Makes a newly created index durable in one pass: the database, its WAL and the directory
    /// entry that names them.
    private static func syncCreatedFiles(_ path: String) throws {
        for file in [path, path + "-wal", directory(of: path)] {
            let fd = Foundation.open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { _ = Foundation.close(fd) }
            guard fsync(fd) == 0 else {
                throw DatabaseError(resultCode: .SQLITE_IOERR, message: "fsync of \(file) failed (errno \(errno))")
            }
        }
    }
}
