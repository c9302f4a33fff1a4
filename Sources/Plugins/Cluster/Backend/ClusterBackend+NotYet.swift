public import StowageCore

/// Operations the cluster backend does not have yet (bucket configuration documents): each
/// answers 501 NotImplemented.
extension ClusterBackend {
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
