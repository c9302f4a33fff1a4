import Foundation
import GRDB
public import Logging
public import StowageCore
import StowageLocalFiles
import StowageSQLiteIndex
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The standalone backend: buckets are directories, each object's bytes one plain file, and
/// metadata and listings come from a SQLite index.
///
/// Layout under `directory`:
/// ```
/// .stowage/index.sqlite    the index (WAL mode)
/// .stowage/tmp/            uploads in progress; emptied at start-up
/// <bucket>/<mapped key>    object bytes (see KeyPathMapper)
/// ```
/// A write streams into a temp file, commits its row (with the temp file's inode) in one
/// transaction, then renames the file into place. Readers check the opened file's inode
/// against the row, so they see the old object or the new one, never a mix. A crash between
/// commit and rename is rolled forward at start-up; a crash before commit leaves only a temp file.
///
/// ```swift
/// let store = FileStoreBackend(options: .init(directory: "/tmp/s3"), logger: logger)
/// try await store.open()
/// ```
public final class FileStoreBackend: StorageBackend {
    public struct Options: Sendable {
        public var directory: String
        public var cleanSlate: Bool
        /// fsync files, directories and the index on every write (power-loss durability).
        public var fsync: Bool

        public init(directory: String, cleanSlate: Bool = false, fsync: Bool = false) {
            self.directory = directory
            self.cleanSlate = cleanSlate
            self.fsync = fsync
        }
    }

    struct OpenState: Sendable {
        let index: ObjectIndex
        let rootFD: CInt
        let tempFD: CInt
        let committer: GroupCommitQueue
    }

    public let options: Options
    let logger: Logger
    private let state = Mutex<OpenState?>(nil)
    private let buckets = Mutex<[String: BucketRecord]>([:])
    let commitLocks = KeyCommitLocks()
    let directories = BucketDirectories()
    let reserve = SpaceReserve()
    let cache = MetadataCache()
    /// Bucket configuration versions (`BucketInfo.configurationVersion`): each bucket row and
    /// each configuration write takes the next one. Unique within this instance and started at
    /// random, so none repeats after a restart either: stages' caches may outlive a close and
    /// an open, and a bucket recreated within the same millisecond must not match.
    private let configurationVersions = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 62)))
    func nextConfigurationVersion() -> UInt64 { configurationVersions.add(1, ordering: .relaxed).newValue }
    /// Orders upload ids created within the same millisecond.
    let uploadSequence = Atomic<UInt64>(0)

    static let metaDirectory = ".stowage"
    static let tempDirectory = ".stowage/tmp"
    static let indexFile = ".stowage/index.sqlite"

    public init(options: Options, logger: Logger = Logger(label: "stowage.filestore")) {
        self.options = options
        self.logger = logger
    }

    // MARK: Lifecycle

    public func open() async throws {
        try state.withLock { current in
            guard current == nil else { return }
            current = try openStorage()
        }
    }

    public func close() async throws {
        let closing = state.withLock { current in
            let taken = current
            current = nil
            return taken
        }
        guard let closing else { return }
        closing.committer.stop()
        directories.removeAll()
        try SQLiteIndexStore.close(closing.index.pool)
        POSIXFiles.closeDescriptor(closing.tempFD)
        POSIXFiles.closeDescriptor(closing.rootFD)
    }

    /// Runs `body` with the storage directory's descriptor if open, under the lock that keeps
    /// `close()` from closing it (and the number from being reused) meanwhile.
    func withOpenRoot<T: Sendable>(_ body: (CInt) -> T) -> T? {
        state.withLock { state -> T? in
            guard let state else { return nil }
            return body(state.rootFD)
        }
    }

    private func openStorage() throws -> OpenState {
        let root = options.directory
        try POSIXFiles.makeDirectoryPath(root)
        let rootFD = try POSIXFiles.openDirectory(root)
        do {
            if options.cleanSlate { try wipe(rootFD) }
            try POSIXFiles.makeDirectory(at: rootFD, Self.metaDirectory)
            try POSIXFiles.makeDirectory(at: rootFD, Self.tempDirectory)
            let tempFD = try POSIXFiles.openDirectory(at: rootFD, Self.tempDirectory)
            let index: ObjectIndex
            do {
                index = try ObjectIndex(path: root + "/" + Self.indexFile, durable: options.fsync)
            } catch let error as DatabaseError where Self.isDiskFull(error) && reserve.release(rootFD: rootFD) {
                // A full disk: the index needs room for its journal to open at all.
                logger.warning("the disk is full: released the space reserve to open the index", metadata: ["error": "\(error)"])
                index = try ObjectIndex(path: root + "/" + Self.indexFile, durable: options.fsync)
            }
            let opened = OpenState(index: index, rootFD: rootFD, tempFD: tempFD, committer: GroupCommitQueue(writer: index, logger: logger))
            do {
                try recover(opened)
            } catch {
                opened.committer.stop()
                throw error
            }
            switch reserve.ensure(rootFD: rootFD) {
            case .inPlace: break
            case .noRoom:
                logger.warning("no room for the space reserve: new writes wait until deletes free \(reserve.size) bytes")
            case .unavailable:
                logger.warning("this file system cannot preallocate the space reserve; deletes on a full disk may fail",
                               metadata: ["errno": "\(reserve.disabledBecause ?? 0)"])
            }
            let records = try index.allBuckets()
            // Directories open on demand (`directories`); a missing one is made again.
            for record in records { try POSIXFiles.makeDirectory(at: rootFD, record.info.name) }
            buckets.withLock { cache in
                cache = Dictionary(uniqueKeysWithValues: records.map { record in
                    var record = record
                    record.info.configurationVersion = nextConfigurationVersion()
                    return (record.info.name, record)
                })
            }
            return opened
        } catch {
            POSIXFiles.closeDescriptor(rootFD)
            throw error
        }
    }

    /// Empties the storage directory, refusing when it holds things Stowage did not make.
    private func wipe(_ rootFD: CInt) throws {
        let entries = try POSIXFiles.directoryEntries(rootFD)
        guard entries.isEmpty || entries.contains(where: { $0.name == Self.metaDirectory }) else {
            throw ConfigurationError(field: "storage.cleanSlate", reason: "refuses to wipe '\(options.directory)': it is not empty and holds no Stowage index")
        }
        try POSIXFiles.removeContents(of: rootFD)
    }

    /// Start-up recovery: finish renames that were committed but not done, remove files of
    /// deletes that were committed but not done, and drop every leftover temp file.
    private func recover(_ state: OpenState) throws {
        let index = state.index
        // Only renames whose row is still the live one are finished: a later commit or delete of
        // the key superseded the others.
        let pending = try index.pendingRenames()
        for rename in pending {
            guard let status = POSIXFiles.fileStatus(at: state.tempFD, rename.temp), UInt64(status.st_ino) == rename.inode else { continue }
            let relative = KeyPathMapper.relativePath(for: rename.key)
            let bucketFD = try POSIXFiles.openDirectory(at: state.rootFD, rename.bucketName)
            defer { POSIXFiles.closeDescriptor(bucketFD) }
            try POSIXFiles.makeDirectories(at: bucketFD, KeyPathMapper.parentDirectories(of: relative))
            _ = try POSIXFiles.rename(from: state.tempFD, rename.temp, to: bucketFD, relative)
            logger.info("recovered an interrupted write", metadata: ["bucket": "\(rename.bucketName)", "key": "\(rename.key)"])
        }

        let trash = try index.pendingUnlinks()
        for unlink in trash {
            guard let bucketName = unlink.bucketName,
                  let bucketFD = try? POSIXFiles.openDirectory(at: state.rootFD, bucketName) else { continue }
            defer { POSIXFiles.closeDescriptor(bucketFD) }
            let live = try index.object(bucketID: unlink.bucketID, key: unlink.key)
            if let status = POSIXFiles.fileStatus(at: bucketFD, unlink.path), UInt64(status.st_ino) == unlink.inode,
                live == nil || live!.inode != unlink.inode {
                try POSIXFiles.unlinkFile(at: bucketFD, unlink.path)
                POSIXFiles.removeEmptyDirectories(at: bucketFD, KeyPathMapper.parentDirectories(of: unlink.path))
                logger.info("removed the file of an interrupted delete", metadata: ["bucket": "\(bucketName)", "path": "\(unlink.path)"])
            }
        }
        // No write transaction when there is nothing to clear, and on a full disk the space
        // reserve is given back for it. If even that fails, the rows stay: each was just checked
        // against the disk, and the next start checks them again; the server comes up regardless.
        if !pending.isEmpty || !trash.isEmpty {
            let clear: () throws -> Void = { try index.clearRecoveryRecords() }
            do {
                try clear()
            } catch let error as DatabaseError where Self.isDiskFull(error) {
                do {
                    guard reserve.release(rootFD: state.rootFD) else { throw error }
                    logger.warning("the disk is full: released the space reserve to finish recovery")
                    try clear()
                } catch {
                    logger.warning("the disk is full: recovery could not clear its records; the next start checks them again",
                                   metadata: ["error": "\(error)"])
                }
            }
        }
        try POSIXFiles.removeContents(of: state.tempFD)
        try recoverMultipart(state)
    }

    func openState() throws -> OpenState {
        guard let current = state.withLock({ $0 }) else {
            throw S3Error(.serviceUnavailable, message: "The storage backend is not open.")
        }
        return current
    }

    /// The bucket's open directory; `NoSuchBucket` when it is gone.
    func bucketDirectory(_ bucket: BucketRecord, state: OpenState) throws -> BucketDirectory {
        try mapErrors { try directories.directory(for: bucket, rootFD: state.rootFD) }
    }

    func bucketRecord(_ name: String) throws -> BucketRecord {
        guard let record = buckets.withLock({ $0[name] }) else {
            throw S3Error(.noSuchBucket).with("BucketName", name)
        }
        return record
    }

    // MARK: Buckets

    public func listBuckets() async throws -> [BucketInfo] {
        _ = try openState()
        return buckets.withLock { $0.values.map(\.info) }.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    public func bucket(_ name: String) async throws -> BucketInfo {
        _ = try openState()
        return try bucketRecord(name).info
    }

    public func createBucket(_ name: String, owner: S3Identity, region: String) async throws -> BucketInfo {
        let state = try openState()
        guard BucketNames.isValid(name) else { throw S3Error(.invalidBucketName).with("BucketName", name) }
        return try mapErrors {
            let record = try state.index.write { db -> BucketRecord in
                if let existing = try state.index.bucket(named: name, db) {
                    throw existing.info.ownerID == owner.canonicalUserID
                        ? S3Error(.bucketAlreadyOwnedByYou).with("BucketName", name)
                        : S3Error(.bucketAlreadyExists).with("BucketName", name)
                }
                let info = BucketInfo(name: name, creationDate: .now, ownerID: owner.canonicalUserID, region: region,
                                      configurationVersion: nextConfigurationVersion())
                let id = try state.index.insertBucket(info, db)
                // Created inside the transaction: a failure rolls the row back.
                try POSIXFiles.makeDirectory(at: state.rootFD, name)
                return BucketRecord(id: id, info: info)
            }
            buckets.withLock { $0[name] = record }
            return record.info
        }
    }

    public func deleteBucket(_ name: String) async throws {
        let state = try openState()
        let record = try bucketRecord(name)
        try mapErrors {
            // Uploads still in progress go with the bucket.
            let abandoned = try state.index.write { db -> [String] in
                guard try state.index.bucketExists(id: record.id, db) else {
                    throw S3Error(.noSuchBucket).with("BucketName", name)
                }
                if try state.index.hasObjects(bucketID: record.id, db) {
                    throw S3Error(.bucketNotEmpty).with("BucketName", name)
                }
                return try state.index.deleteBucket(id: record.id, db)
            }
            for upload in abandoned { removeUploadDirectory(upload, state: state) }
            buckets.withLock { _ = $0.removeValue(forKey: name) }
            directories.forget(record.id)
            cache.invalidate(bucketID: record.id)
            // Only empty directories remain; remove them with the bucket.
            if let bucketFD = try? POSIXFiles.openDirectory(at: state.rootFD, name) {
                try? POSIXFiles.removeContents(of: bucketFD)
                POSIXFiles.closeDescriptor(bucketFD)
                _ = name.withCString { unlinkat(state.rootFD, $0, AT_REMOVEDIR) }
            }
        }
    }

    public func statistics() async throws -> StorageStatistics? {
        let state = try openState()
        return try mapErrors { try state.index.statistics() }
    }

    public func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]? {
        let state = try openState()
        let record = try bucketRecord(bucket)
        return try mapErrors { try state.index.configuration(bucketID: record.id, kind: kind.rawValue) }
    }

    public func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws {
        let state = try openState()
        let record = try bucketRecord(bucket)
        try mapErrors { try state.index.setConfiguration(bucketID: record.id, kind: kind.rawValue, document: document) }
        // After the write: a reader that sees the new version reads the new document. The
        // version lives with the cached bucket row (see `configurationVersions`).
        let version = nextConfigurationVersion()
        buckets.withLock { buckets in
            if buckets[bucket]?.id == record.id { buckets[bucket]!.info.configurationVersion = version }
        }
    }

    // MARK: Listing

    public func listObjects(bucket: String, query: ListObjectsQuery) async throws -> ListObjectsPage {
        let state = try openState()
        let record = try bucketRecord(bucket)
        return try mapErrors { try state.index.list(bucketID: record.id, query: query) }
    }

    // MARK: Errors

    static func isDiskFull(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_FULL || error.extendedResultCode == .SQLITE_IOERR_WRITE
            || error.extendedResultCode == .SQLITE_IOERR_SHMSIZE || error.extendedResultCode == .SQLITE_IOERR_TRUNCATE
    }

    /// Writes that take space wait for the reserve to be in place: were they to use the space a
    /// delete freed after the reserve was given back, the next delete on the full disk would fail.
    func requireSpaceReserve(_ state: OpenState) throws {
        guard reserve.ensure(rootFD: state.rootFD) != .noRoom else {
            throw S3Error(.insufficientStorage, message: "The server has run out of storage space: delete objects to make room.")
        }
    }

    /// Runs a change that frees space (a delete, an abort). On a full disk it gives the space
    /// reserve back and tries once more; afterwards it makes the reserve again if there is room.
    func freeingSpace<T>(_ state: OpenState, _ body: () async throws -> T) async throws -> T {
        let releasesBefore = reserve.releases
        let result: T
        do {
            result = try await body()
        } catch let error as S3Error where error.code == .insufficientStorage {
            // Another change may have released it already while this one failed in the same batch.
            guard reserve.release(rootFD: state.rootFD) || reserve.releases != releasesBefore else { throw error }
            logger.warning("the disk is full: released the space reserve so that space can be freed")
            result = try await body()
        }
        reserve.ensure(rootFD: state.rootFD)
        return result
    }

    /// Internal failures become S3 errors; `S3Error`s and body-stream errors pass through.
    func mapErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as POSIXFiles.Failure {
            logger.error("file system failure", metadata: ["error": "\(error)"])
            throw error.s3Error
        } catch let error as DatabaseError {
            throw s3Error(error)
        }
    }

    /// The one mapping of index failures to S3: a full disk is 507, a busy or locked database
    /// asks the client to slow down, anything else is logged and 500.
    func s3Error(_ error: DatabaseError) -> S3Error {
        logger.error("index failure", metadata: ["error": "\(error)"])
        if error.resultCode == .SQLITE_FULL { return S3Error(.insufficientStorage) }
        if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED { return S3Error(.slowDown) }
        return S3Error(.internalError)
    }
}
