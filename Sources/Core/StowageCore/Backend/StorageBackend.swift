public import ServiceLifecycle

/// The storage seam: everything the dispatcher needs from a place that keeps buckets and objects.
///
/// Contracts every implementation honours (the conformance suite checks them):
/// - Errors are `S3Error`s with S3's codes (`NoSuchBucket`, `NoSuchKey`, `BucketNotEmpty`, ...).
/// - Bodies stream: `putObject` consumes `body` chunk by chunk and never holds a whole object.
/// - A write becomes visible atomically: a reader sees the old object or the new one.
/// - Preconditions in the options are checked atomically with the read or the write.
/// - Listings are in ascending byte order of the UTF-8 keys.
///
/// ```swift
/// let backend: any StorageBackend = try FileStoreBackend(directory: "/tmp/data")
/// try await backend.open()
/// _ = try await backend.createBucket("photos", owner: .anonymous, region: "us-east-1")
/// ```
public protocol StorageBackend: Sendable {
    /// Opens storage (recovery after a crash happens here). Called once before any request.
    func open() async throws
    /// Releases resources. No request arrives after this.
    func close() async throws

    // MARK: Buckets
    func listBuckets() async throws -> [BucketInfo]
    /// Creates a bucket; `BucketAlreadyOwnedByYou` / `BucketAlreadyExists` when it exists.
    func createBucket(_ name: String, owner: S3Identity, region: String) async throws -> BucketInfo
    /// Deletes an empty bucket; `BucketNotEmpty` otherwise.
    func deleteBucket(_ name: String) async throws
    /// The bucket, or `NoSuchBucket`. Its `configurationVersion` must change with every
    /// configuration write and never repeat for a bucket of the same name (deleted and
    /// re-created, even within one millisecond, or after a restart): stages cache parsed
    /// policies and CORS rules under it.
    func bucket(_ name: String) async throws -> BucketInfo

    // MARK: Objects
    func putObject(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions) async throws -> ObjectInfo
    func getObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult
    func headObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult
    /// Deletes the object if it exists (S3 deletes are idempotent); `NoSuchBucket` if the bucket
    /// is missing. With `conditions.ifMatch`, deletes only the object with that ETag (412 otherwise,
    /// `NoSuchKey` when absent), checked atomically with the delete.
    func deleteObject(_ address: ObjectAddress, conditions: WriteConditions) async throws
    /// Deletes several keys of one bucket; one result per key, in order.
    func deleteObjects(bucket: String, keys: [String]) async throws -> [Result<Void, S3Error>]
    func copyObject(from source: ObjectAddress, to destination: ObjectAddress, options: CopyObjectOptions) async throws -> ObjectInfo
    func listObjects(bucket: String, query: ListObjectsQuery) async throws -> ListObjectsPage

    // MARK: Multipart uploads
    func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo
    /// Stores a part (replacing an earlier part with the same number).
    func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo
    func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo
    /// Assembles the listed parts into the object, atomically with the write preconditions.
    func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, parts: [CompletedPart], options: CompleteMultipartOptions) async throws -> ObjectInfo
    func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws
    func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage
    func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage
    /// Aborts uploads initiated before `cutoff`; returns how many.
    func expireMultipartUploads(initiatedBefore cutoff: S3Timestamp) async throws -> Int

    // MARK: Access control
    /// Replaces an existing object's canned ACL (PutObjectAcl), keeping its bytes, metadata and date.
    func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws

    // MARK: Statistics and health
    /// How much is stored, for metrics; `nil` when the backend cannot tell cheaply.
    func statistics() async throws -> StorageStatistics?
    /// How the backend is doing, per component; read by `/_stowage/health/ready`, the
    /// management `clusterStatus` and the metrics. Cheap: it reports state, it does not probe.
    func health() async -> BackendHealth
    /// Long-running work the backend brings (a healer, heartbeats, scanners): run while the
    /// server runs, after it is open and before it closes, and cancelled when it stops.
    var services: [any Service] { get }

    // MARK: Bucket configuration documents (policy, CORS, ...)
    /// The stored document of `kind`, or `nil` when none is set.
    func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]?
    /// Stores (or with `nil` removes) the document of `kind`. Documents go away with the bucket.
    func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws
}

extension StorageBackend {
    /// An unconditional delete.
    public func deleteObject(_ address: ObjectAddress) async throws {
        try await deleteObject(address, conditions: WriteConditions())
    }

    public func deleteObjects(bucket: String, keys: [String]) async throws -> [Result<Void, S3Error>] {
        var results: [Result<Void, S3Error>] = []
        results.reserveCapacity(keys.count)
        for key in keys {
            do {
                try await deleteObject(ObjectAddress(bucket: bucket, key: key))
                results.append(.success(()))
            } catch {
                results.append(.failure(S3Error.wrapping(error)))
            }
        }
        return results
    }

    // A backend without multipart support answers 501 for every multipart call.
    public func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo {
        throw S3Error.notImplemented("CreateMultipartUpload")
    }
    public func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo {
        throw S3Error.notImplemented("UploadPart")
    }
    public func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo {
        throw S3Error.notImplemented("UploadPartCopy")
    }
    public func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, parts: [CompletedPart], options: CompleteMultipartOptions) async throws -> ObjectInfo {
        throw S3Error.notImplemented("CompleteMultipartUpload")
    }
    public func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws {
        throw S3Error.notImplemented("AbortMultipartUpload")
    }
    public func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage {
        throw S3Error.notImplemented("ListParts")
    }
    public func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage {
        throw S3Error.notImplemented("ListMultipartUploads")
    }
    public func expireMultipartUploads(initiatedBefore cutoff: S3Timestamp) async throws -> Int { 0 }
    public func statistics() async throws -> StorageStatistics? { nil }
    public func health() async -> BackendHealth { .ok }
    public var services: [any Service] { [] }
    public func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws {
        throw S3Error.notImplemented("PutObjectAcl")
    }
}

/// Totals across all buckets, as `/_stowage/metrics` reports them.
public struct StorageStatistics: Sendable, Hashable {
    public var buckets: Int
    public var objects: Int
    public var bytes: Int64

    public init(buckets: Int, objects: Int, bytes: Int64) {
        self.buckets = buckets
        self.objects = objects
        self.bytes = bytes
    }
}
