import ServiceLifecycle
import StowageCore
import Synchronization

/// Sends each request to the next of several nodes' backends in turn: a client spreading its
/// requests over a cluster's coordinators, as the conformance suite runs on three nodes.
/// `afterWrite` runs after every write that stores object bytes (a degraded shape damages
/// what was just written there).
final class RoundRobinBackend: StorageBackend {
    private let nodes: [any StorageBackend]
    private let turn = Atomic<Int>(0)
    private let afterWrite: @Sendable (ObjectAddress) async -> Void

    init(_ nodes: [any StorageBackend], afterWrite: @escaping @Sendable (ObjectAddress) async -> Void = { _ in }) {
        self.nodes = nodes
        self.afterWrite = afterWrite
    }

    private func written(_ address: ObjectAddress, _ info: ObjectInfo) async -> ObjectInfo {
        await afterWrite(address)
        return info
    }

    private var next: any StorageBackend {
        nodes[turn.wrappingAdd(1, ordering: .relaxed).oldValue % nodes.count]
    }

    func open() async throws {}
    func close() async throws {}
    func listBuckets() async throws -> [BucketInfo] { try await next.listBuckets() }
    func createBucket(_ name: String, owner: S3Identity, region: String) async throws -> BucketInfo {
        try await next.createBucket(name, owner: owner, region: region)
    }
    func deleteBucket(_ name: String) async throws { try await next.deleteBucket(name) }
    func bucket(_ name: String) async throws -> BucketInfo { try await next.bucket(name) }
    func putObject(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions) async throws -> ObjectInfo {
        await written(address, try await next.putObject(address, body: body, options: options))
    }
    func getObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        try await next.getObject(address, options: options)
    }
    func headObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        try await next.headObject(address, options: options)
    }
    func deleteObject(_ address: ObjectAddress, conditions: WriteConditions) async throws {
        try await next.deleteObject(address, conditions: conditions)
    }
    func deleteObjects(bucket: String, keys: [String]) async throws -> [Result<Void, S3Error>] {
        try await next.deleteObjects(bucket: bucket, keys: keys)
    }
    func copyObject(from source: ObjectAddress, to destination: ObjectAddress, options: CopyObjectOptions) async throws -> ObjectInfo {
        await written(destination, try await next.copyObject(from: source, to: destination, options: options))
    }
    func listObjects(bucket: String, query: ListObjectsQuery) async throws -> ListObjectsPage {
        try await next.listObjects(bucket: bucket, query: query)
    }
    func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo {
        try await next.createMultipartUpload(address, options: options)
    }
    func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo {
        try await next.uploadPart(address, uploadID: uploadID, partNumber: partNumber, body: body, options: options)
    }
    func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo {
        try await next.uploadPartCopy(address, uploadID: uploadID, partNumber: partNumber, source: source, options: options)
    }
    func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, parts: [CompletedPart], options: CompleteMultipartOptions) async throws -> ObjectInfo {
        await written(address, try await next.completeMultipartUpload(address, uploadID: uploadID, parts: parts, options: options))
    }
    func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws {
        try await next.abortMultipartUpload(address, uploadID: uploadID)
    }
    func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage {
        try await next.listParts(address, uploadID: uploadID, query: query)
    }
    func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage {
        try await next.listMultipartUploads(bucket: bucket, query: query)
    }
    func expireMultipartUploads(initiatedBefore cutoff: S3Timestamp) async throws -> Int {
        try await next.expireMultipartUploads(initiatedBefore: cutoff)
    }
    func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws { try await next.setObjectACL(address, acl: acl) }
    func statistics() async throws -> StorageStatistics? { try await next.statistics() }
    func health() async -> BackendHealth { await next.health() }
    var services: [any Service] { [] }
    func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]? {
        try await next.bucketConfiguration(bucket, kind: kind)
    }
    func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws {
        try await next.setBucketConfiguration(bucket, kind: kind, document: document)
    }
}
