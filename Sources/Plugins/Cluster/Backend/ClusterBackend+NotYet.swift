public import StowageCore

/// Operations the cluster backend does not have yet (multipart, ACL and
/// bucket configuration arrive with the next part): each answers 501 NotImplemented.
extension ClusterBackend {
    public func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, parts: [CompletedPart], options: CompleteMultipartOptions) async throws -> ObjectInfo {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage {
        throw S3Error.notImplemented("Multipart upload on the cluster backend")
    }

    public func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws {
        throw S3Error.notImplemented("PutObjectAcl on the cluster backend")
    }

    /// No configuration documents can be stored yet, so none is set.
    public func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]? {
        _ = try await self.bucket(bucket)
        return nil
    }

    /// Removing a document is a no-op (none can be stored yet); storing one is 501.
    public func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws {
        _ = try await self.bucket(bucket)
        guard document == nil else { throw S3Error.notImplemented("Bucket configuration on the cluster backend") }
    }
}
