import Foundation
import GRDBSQLite
import Synchronization

/// Point reads on a WAL database without a dispatch queue or a transaction of their own: one
/// connection of its own with its prepared statements, used by one reader at a time (a point
/// read takes microseconds; one connection per drive keeps one page cache per drive, where a
/// pool of them kept several copies of the same pages). A single statement runs in autocommit mode, so it reads one committed snapshot, the
/// newest when it starts; every statement is reset as soon as its row is read, so no
/// connection keeps an old snapshot open (an un-reset statement would pin its read
/// transaction, and every later statement on that connection would see the past).
///
/// GRDB's `DatabasePool.read` costs more than the SELECT itself for a one-row lookup (a
/// dispatch hop, the pool's bookkeeping, BEGIN and COMMIT); the cluster's GET makes ten of
/// them, so it reads through this instead.
///
/// ```swift
/// let reader = try SQLitePointReader(path: "/mnt/d1/.stowage/catalog.sqlite")
/// let bytes: [UInt8]? = try reader.row("SELECT bytes FROM inline WHERE data_ref = ?", [.blob(ref)]) { $0.blob(0) }
/// ```
public final class SQLitePointReader: Sendable {
    public enum Argument: Sendable {
        case blob([UInt8])
        case int(Int64)
    }

    /// The current row of a stepped statement; valid only inside the closure it is given to.
    public struct Row {
        fileprivate let statement: OpaquePointer

        fileprivate init(_ statement: OpaquePointer) { self.statement = statement }

        public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }
        public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }
        /// The blob's bytes in SQLite's own buffer (empty for NULL), valid only inside `body`:
        /// no copy for what is decoded at once.
        public func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let base = sqlite3_column_blob(statement, column) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
            return try body(UnsafeRawBufferPointer(start: base, count: count))
        }

        /// Nil for NULL; an empty array for an empty blob.
        public func blob(_ column: Int32) -> [UInt8]? {
            guard !isNull(column) else { return nil }
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let base = sqlite3_column_blob(statement, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: base, count: count))
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let code: Int32
        public let message: String
        public var description: String { "SQLite error \(code): \(message)" }
    }

    private let connection: Mutex<Connection>

    /// `cacheKiB`: the connection's page cache.
    public init(path: String, cacheKiB: Int = 8_192) throws {
        connection = Mutex(try Connection(path: path, cacheKiB: cacheKiB))
    }

    deinit {
        connection.withLock { $0.close() }
    }

    /// Runs `sql` with `arguments` and maps its first row (nil: no row).
    public func row<T: Sendable>(_ sql: String, _ arguments: [Argument], _ map: (Row) throws -> T) throws -> T? {
        try connection.withLock { try $0.rows(sql, arguments, limit: 1, map).first }
    }

    /// Runs `sql` with `arguments` and maps every row (a bounded range scan: the statement
    /// should carry its own LIMIT, since the connection is held for the whole scan).
    public func rows<T: Sendable>(_ sql: String, _ arguments: [Argument], _ map: (Row) throws -> T) throws -> [T] {
        try connection.withLock { try $0.rows(sql, arguments, limit: .max, map) }
    }

    /// Runs `sql` with `arguments` and hands `body` each row (not generic: a scan of
    /// thousands of rows appends them to the caller's own array).
    public func forEach(_ sql: String, _ arguments: [Argument], _ body: (Row) throws -> Void) throws {
        try connection.withLock { _ = try $0.rows(sql, arguments, limit: .max) { row -> Void in try body(row) } }
    }

    /// Several statements that read one snapshot: `body`'s reads run inside one read
    /// transaction (BEGIN … COMMIT), which takes the database's read lock once instead of once
    /// per statement. Keep it short: the connection is held throughout.
    ///
    /// ```swift
    /// let rows = try reader.inOneSnapshot { snapshot in
    ///     try positions.compactMap { try snapshot.row("SELECT key FROM t WHERE key >= ? LIMIT 1", [.blob($0)]) { $0.blob(0) } }
    /// }
    /// ```
    public func inOneSnapshot<T: Sendable>(_ body: (Snapshot) throws -> T) throws -> T {
        try connection.withLock { connection in
            try connection.execute("BEGIN")
            defer {
                // Never left inside the transaction: every later read would see this snapshot.
                if !connection.inAutocommit { try? connection.execute("ROLLBACK") }
                if !connection.inAutocommit { connection.reopen() }
            }
            let result = try body(Snapshot(connection: connection))
            try connection.execute("COMMIT")
            return result
        }
    }

    /// The reads of one ``inOneSnapshot(_:)``; valid only inside its closure.
    public struct Snapshot {
        fileprivate let connection: Connection

        /// Runs `sql` with `arguments` and maps its first row (nil: no row).
        public func row<T>(_ sql: String, _ arguments: [Argument], _ map: (Row) throws -> T) throws -> T? {
            try connection.rows(sql, arguments, limit: 1, map).first
        }
    }
}

/// One connection and its prepared statements.
///
/// `@unchecked Sendable`: the pointers are used by one thread at a time. The only reference
/// is inside the reader's mutex, and every use (`row`, `close`, a snapshot's reads inside its closure) runs within `withLock`.
private final class Connection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private let path: String
    private let cacheKiB: Int

    init(path: String, cacheKiB: Int) throws {
        self.path = path
        self.cacheKiB = cacheKiB
        try open()
    }

    var inAutocommit: Bool { handle.map { sqlite3_get_autocommit($0) != 0 } ?? true }

    /// A connection stuck in a transaction starts over (closed and opened again).
    func reopen() {
        close()
        try? open()
    }

    private func open() throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        let opened = sqlite3_open_v2(path, &db, flags, nil)
        guard opened == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLitePointReader.Failure(code: opened, message: message)
        }
        handle = db
        // Never writes, and waits out a checkpoint's brief locks instead of failing.
        sqlite3_busy_timeout(db, 5_000)
        sqlite3_exec(db, "PRAGMA query_only = 1", nil, nil, nil)
        // Point reads jump around the whole file: a larger cache than the default 2 MB, which
        // missed on nearly every GET of a 12 MB catalog. Not mmap: SQLite documents that an
        // I/O error on a mapped file is a SIGBUS, and one failing drive must not kill the node.
        sqlite3_exec(db, "PRAGMA cache_size = -\(max(256, cacheKiB))", nil, nil, nil)
    }

    func rows<T>(
        _ sql: String, _ arguments: [SQLitePointReader.Argument], limit: Int, _ map: (SQLitePointReader.Row) throws -> T
    ) throws -> [T] {
        let statement = try prepared(sql)
        // Reset when done, whatever happens: an open statement pins its snapshot.
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, argument) in arguments.enumerated() {
            let position = Int32(index + 1)
            let bound: Int32
            switch argument {
            case .int(let value): bound = sqlite3_bind_int64(statement, position, value)
            case .blob(let bytes):
                // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
                bound = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(statement, position, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                }
            }
            guard bound == SQLITE_OK else { throw failure(bound) }
        }
        var mapped: [T] = []
        while mapped.count < limit {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: mapped.append(try map(SQLitePointReader.Row(statement)))
            case SQLITE_DONE: return mapped
            case let code: throw failure(code)
            }
        }
        return mapped
    }

    func execute(_ sql: String) throws {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure(code) }
        statements[sql] = statement
        return statement
    }

    private func failure(_ code: Int32) -> SQLitePointReader.Failure {
        SQLitePointReader.Failure(code: code, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed")
    }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        sqlite3_close_v2(handle)
        handle = nil
    }
}
