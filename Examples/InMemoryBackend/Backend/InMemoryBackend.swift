public import StowageCore
import Synchronization

/// A complete `StorageBackend` that keeps every bucket, object, multipart upload and bucket
/// configuration document in memory. It passes the backend conformance suite, so it behaves
/// like the file store everywhere a client can tell (conditions, ranges, copies, listings in
/// UTF-8 byte order, multipart uploads with checksums), and it is the smallest full example
/// of the `StorageBackend` contract.
///
/// It holds objects in memory by design: each body is read whole before it is stored, and
/// nothing survives the process. That suits tests and throwaway servers; large or durable data
/// belongs in `FileStoreBackend`. Bound the memory a client can take with
/// `limits.maxObjectSize`, which arrives here as the options' `maxSize`.
///
/// ```swift
/// let backend = InMemoryBackend()
/// var builder = StowageBuilder()
/// builder.configuration.server.port = 0      // any free port
/// builder.backend = backend
/// let server = try builder.build()
/// try await server.start()                   // opens the backend
/// // ... S3 clients talk to http://127.0.0.1:<server.port> ...
/// try await server.stop()                    // closes it; `backend` keeps its contents
/// ```
///
/// Concurrency: all state sits behind one `Mutex`, held for table lookups, updates and listing
/// pages, never across an `await`. Bodies are received and hashed outside it; the write is then committed under
/// it, with the write preconditions checked again at that moment, so a failed body stores
/// nothing and racing conditional writers cannot both win.
public final class InMemoryBackend: StorageBackend {
    private let storage = Mutex(Storage())

    public init() {}

    // MARK: Lifecycle

    /// Starts serving requests. Contents kept across `close()` are served again.
    public func open() async throws {
        storage.withLock { $0.isOpen = true }
    }

    /// Stops serving requests (they fail with `ServiceUnavailable`). The contents stay until
    /// the instance is released: `open()` serves them again.
    public func close() async throws {
        storage.withLock { $0.isOpen = false }
    }

    /// Runs `body` under the lock on open storage.
    func withOpenStorage<T>(_ body: (inout Storage) throws -> T) throws -> T {
        try storage.withLock { storage in
            try storage.requireOpen()
            return try body(&storage)
        }
    }

    // MARK: Buckets

    public func listBuckets() async throws -> [BucketInfo] {
        try withOpenStorage { storage in
            storage.buckets.values.map(\.info).sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        }
    }

    /// Configuration versions are unique in the process (and start at random): a bucket deleted
    /// and re-created within one millisecond must never reuse a version a cache has seen.
    private static let configurationVersions = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 62)))
    static func nextConfigurationVersion() -> UInt64 { configurationVersions.add(1, ordering: .relaxed).newValue }

    public func createBucket(_ name: String, owner: S3Identity, region: String) async throws -> BucketInfo {
        guard BucketNames.isValid(name) else { throw S3Error(.invalidBucketName).with("BucketName", name) }
        return try withOpenStorage { storage in
            if let existing = storage.buckets[name] {
                throw existing.info.ownerID == owner.canonicalUserID
                    ? S3Error(.bucketAlreadyOwnedByYou).with("BucketName", name)
                    : S3Error(.bucketAlreadyExists).with("BucketName", name)
            }
            let info = BucketInfo(name: name, creationDate: .now, ownerID: owner.canonicalUserID, region: region,
                                  configurationVersion: Self.nextConfigurationVersion())
            storage.buckets[name] = StoredBucket(info: info)
            return info
        }
    }

    /// Deletes an empty bucket; its uploads in progress and configuration documents go with it.
    public func deleteBucket(_ name: String) async throws {
        try withOpenStorage { storage in
            guard try storage.bucket(name).objects.isEmpty else {
                throw S3Error(.bucketNotEmpty).with("BucketName", name)
            }
            storage.buckets[name] = nil
        }
    }

    public func bucket(_ name: String) async throws -> BucketInfo {
        try withOpenStorage { try $0.bucket(name).info }
    }

    // MARK: Bucket configuration documents

    public func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]? {
        try withOpenStorage { try $0.bucket(bucket).configurations[kind] }
    }

    public func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws {
        try withOpenStorage { storage in
            try storage.modifyBucket(bucket) { stored in
                stored.configurations[kind] = document
                // Caches of parsed configuration key on it (`BucketConfigurationCache`).
                stored.info.configurationVersion = Self.nextConfigurationVersion()
            }
        }
    }

    // MARK: Statistics

    /// Exact totals: each bucket keeps a running byte count, so this costs one pass over buckets.
    public func statistics() async throws -> StorageStatistics? {
        try withOpenStorage { storage in
            let buckets = storage.buckets.values
            return StorageStatistics(
                buckets: buckets.count,
                objects: buckets.reduce(0) { $0 + $1.objects.count },
                bytes: buckets.reduce(Int64(0)) { $0 + $1.objects.totalBytes }
            )
        }
    }
}
