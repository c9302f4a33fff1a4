import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex
import StowageLocalFiles
import Synchronization

/// A bucket row.
struct BucketRecord: Sendable {
    var id: Int64
    var info: BucketInfo
}

/// An open bucket directory (see `BucketDirectories`). Requests keep a reference while they use
/// it, so neither deleting the bucket nor evicting it closes a descriptor someone is using; the
/// last reference closes it.
final class BucketDirectory: Sendable {
    let fd: CInt

    init(fd: CInt) { self.fd = fd }

    deinit { POSIXFiles.closeDescriptor(fd) }
}

/// Work done on disk after a commit, recorded in the index by the next write transaction so
/// that each PUT or DELETE costs one transaction.
enum Settlement: Sendable {
    /// The rename of `temp` into place finished.
    case renamed(bucketID: Int64, key: String, temp: String)
    /// The file of a deleted object was unlinked.
    case unlinked(bucketID: Int64, path: String)
}

/// The metadata index: one SQLite database (WAL mode) through GRDB. Keys are BLOBs, so
/// SQLite orders them by bytes: the UTF-8 byte order S3 lists in.
final class ObjectIndex: GroupCommitWriter {
    let pool: DatabasePool
    private let settlements = Mutex<[Settlement]>([])

    init(path: String, durable: Bool) throws {
        pool = try SQLiteIndexStore.open(path: path, durable: durable, migrator: ObjectIndexSchema.migrator)
    }

    // MARK: Transactions

    func settle(_ settlement: Settlement) {
        settlements.withLock { $0.append(settlement) }
    }

    /// A write transaction that first records the settlements queued since the last one.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        let queued = settlements.withLock { list in
            let taken = list
            list.removeAll(keepingCapacity: true)
            return taken
        }
        do {
            return try pool.write { db in
                for settlement in queued { try apply(settlement, db) }
                return try body(db)
            }
        } catch {
            // The transaction rolled back: the settlements still need recording.
            settlements.withLock { $0.insert(contentsOf: queued, at: 0) }
            throw error
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    private func apply(_ settlement: Settlement, _ db: Database) throws {
        switch settlement {
        case .renamed(_, _, let temp):
            try db.cachedStatement(sql: "DELETE FROM pending WHERE temp = ?").execute(arguments: [temp])
        case .unlinked(let bucketID, let path):
            try db.cachedStatement(sql: "DELETE FROM trash WHERE bucket_id = ? AND path = ?").execute(arguments: [bucketID, path])
        }
    }

    // MARK: Buckets

    func allBuckets() throws -> [BucketRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, owner_id, region, created_ms FROM buckets").map(Self.bucket)
        }
    }

    static func bucket(_ row: Row) -> BucketRecord {
        BucketRecord(id: row[0], info: BucketInfo(name: row[1], creationDate: S3Timestamp(millisecondsSinceEpoch: row[4]), ownerID: row[2], region: row[3]))
    }

    func bucket(named name: String, _ db: Database) throws -> BucketRecord? {
        try Row.fetchOne(db, sql: "SELECT id, name, owner_id, region, created_ms FROM buckets WHERE name = ?", arguments: [name]).map(Self.bucket)
    }

    // MARK: Objects

    static let objectColumns = "key, size, etag, modified_ms, inode, owner_id, storage_class, part_count, metadata, checksum_algorithm, checksum, checksum_type, checksum_parts, parts, upload_id, part_numbers"

    static func object(_ row: Row) -> ObjectRecord {
        let key: Data = row[0]
        let metadata: Data = row[8]
        let inode: Int64 = row[4]
        var checksum: ObjectChecksum?
        if let name: String = row[9], let algorithm = ChecksumAlgorithm(name: name), let value: Data = row[10] {
            let type = (row[11] as String?).flatMap(ChecksumType.init(rawValue:)) ?? .fullObject
            checksum = ObjectChecksum(algorithm: algorithm, value: [UInt8](value), type: type, partCount: row[12])
        }
        return ObjectRecord(
            key: String(decoding: key, as: UTF8.self), size: row[1], etag: row[2], modifiedMS: row[3],
            inode: UInt64(bitPattern: inode), ownerID: row[5], storageClass: row[6], partCount: row[7],
            metadata: MetadataCodec.decode(metadata), pendingTemp: nil, checksum: checksum,
            parts: PartLayout.decode(row[13], numbers: row[15]), uploadID: row[14]
        )
    }

    func object(bucketID: Int64, key: String, _ db: Database) throws -> ObjectRecord? {
        let statement = try db.cachedStatement(sql: "SELECT \(Self.objectColumns) FROM objects WHERE bucket_id = ? AND key = ?")
        return try Row.fetchOne(statement, arguments: [bucketID, Data(key.utf8)]).map(Self.object)
    }

    func object(bucketID: Int64, key: String) throws -> ObjectRecord? {
        try read { db in try object(bucketID: bucketID, key: key, db) }
    }

    func upsert(_ record: ObjectRecord, bucketID: Int64, _ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO objects (bucket_id, \(Self.objectColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.execute(arguments: [
            bucketID, Data(record.key.utf8), record.size, record.etag, record.modifiedMS, Int64(bitPattern: record.inode),
            record.ownerID, record.storageClass, record.partCount, MetadataCodec.encode(record.metadata),
            record.checksum?.algorithm.rawValue, record.checksum.map { Data($0.value) }, record.checksum?.type.rawValue,
            record.checksum?.partCount, PartLayout.encode(record.parts), record.uploadID, PartLayout.encodeNumbers(record.parts),
        ])
        if let temp = record.pendingTemp {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO pending (temp, bucket_id, key, inode) VALUES (?, ?, ?, ?)")
                .execute(arguments: [temp, bucketID, Data(record.key.utf8), Int64(bitPattern: record.inode)])
        }
    }

    /// The temp file of an in-flight rename of `key` to the file with `inode`, if any.
    func pendingTemp(bucketID: Int64, key: String, inode: UInt64, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT temp FROM pending WHERE bucket_id = ? AND key = ? AND inode = ?"),
                            arguments: [bucketID, Data(key.utf8), Int64(bitPattern: inode)])
    }

    func deleteObjectRow(bucketID: Int64, key: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM objects WHERE bucket_id = ? AND key = ?").execute(arguments: [bucketID, Data(key.utf8)])
    }

    func addTrash(bucketID: Int64, path: String, key: String, inode: UInt64, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO trash (bucket_id, path, key, inode) VALUES (?, ?, ?, ?)")
            .execute(arguments: [bucketID, path, Data(key.utf8), Int64(bitPattern: inode)])
    }

    func hasObjects(bucketID: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = ?)", arguments: [bucketID]) ?? false
    }

    // MARK: Statistics

    /// Buckets, committed objects and their bytes (rows still waiting for their rename count:
    /// they are readable already).
    func statistics() throws -> StorageStatistics {
        try read { db in
            let buckets = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM buckets") ?? 0
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects")
            return StorageStatistics(buckets: buckets, objects: row?[0] ?? 0, bytes: row?[1] ?? 0)
        }
    }

    // MARK: Bucket configuration documents

    func configuration(bucketID: Int64, kind: String) throws -> [UInt8]? {
        try read { db in
            let data = try Data.fetchOne(db, sql: "SELECT document FROM bucket_configurations WHERE bucket_id = ? AND kind = ?", arguments: [bucketID, kind])
            return data.map { Array($0) }
        }
    }

    func setConfiguration(bucketID: Int64, kind: String, document: [UInt8]?) throws {
        try write { db in
            if let document {
                try db.execute(sql: "INSERT OR REPLACE INTO bucket_configurations (bucket_id, kind, document) VALUES (?, ?, ?)",
                               arguments: [bucketID, kind, Data(document)])
            } else {
                try db.execute(sql: "DELETE FROM bucket_configurations WHERE bucket_id = ? AND kind = ?", arguments: [bucketID, kind])
            }
        }
    }
}
