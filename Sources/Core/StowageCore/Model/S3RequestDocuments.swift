public import NIOCore

/// The `<Delete>` document of DeleteObjects.
public struct DeleteObjectsRequest: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var versionID: String?

        public init(key: String, versionID: String? = nil) {
            self.key = key
            self.versionID = versionID
        }
    }

    public var objects: [Entry]
    public var quiet: Bool

    public init(objects: [Entry], quiet: Bool) {
        self.objects = objects
        self.quiet = quiet
    }
}

/// The optional `<CreateBucketConfiguration>` of CreateBucket.
public struct CreateBucketConfiguration: Sendable, Hashable {
    public var locationConstraint: String?

    public init(locationConstraint: String?) { self.locationConstraint = locationConstraint }
}

/// Parses XML request documents. The XML stage installs one in the request context, so the
/// dispatcher never sees XML.
public protocol S3DocumentDecoder: Sendable {
    /// Throws `MalformedXML` for anything that is not a valid `<Delete>` document.
    func decodeDeleteObjects(_ body: ByteBuffer) throws -> DeleteObjectsRequest
    /// Throws `MalformedXML` for anything that is not a valid `<CreateBucketConfiguration>`.
    func decodeCreateBucketConfiguration(_ body: ByteBuffer) throws -> CreateBucketConfiguration
    /// Throws `MalformedXML` for anything that is not a valid `<CompleteMultipartUpload>`.
    func decodeCompleteMultipartUpload(_ body: ByteBuffer) throws -> [CompletedPart]
    /// Throws `MalformedXML` for anything that is not a valid `<CORSConfiguration>` (not validated further).
    func decodeCORSConfiguration(_ body: ByteBuffer) throws -> CORSConfiguration
}
