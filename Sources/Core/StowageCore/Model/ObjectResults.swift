/// One part of a completed multipart object, as `headObject` reports it.
public struct ObjectPart: Sendable, Hashable {
    /// The number the part was uploaded with.
    public var partNumber: Int
    public var size: Int64
    /// The part's checksum in the object's checksum algorithm, when the upload had one.
    public var checksum: [UInt8]?

    public init(partNumber: Int, size: Int64, checksum: [UInt8]? = nil) {
        self.partNumber = partNumber
        self.size = size
        self.checksum = checksum
    }
}

/// The attributes GetObjectAttributes can return (`x-amz-object-attributes`).
public enum ObjectAttribute: String, Sendable, Hashable, CaseIterable {
    case etag = "ETag"
    case checksum = "Checksum"
    case objectParts = "ObjectParts"
    case storageClass = "StorageClass"
    case objectSize = "ObjectSize"
}

/// GetObjectAttributes: only the requested attributes are set.
///
/// ```swift
/// var result = GetObjectAttributesResult()
/// result.objectSize = info.size
/// return .document(.objectAttributes(result))
/// ```
public struct GetObjectAttributesResult: Sendable {
    /// Unquoted, as this API shows it.
    public var etag: String?
    /// The object's checksum; a COMPOSITE value is shown without its `-N` here.
    public var checksum: ObjectChecksum?
    public var objectParts: Parts?
    public var storageClass: String?
    public var objectSize: Int64?

    /// The `<ObjectParts>` element: the parts count always; the parts themselves, paged like
    /// ListParts, only when they carry COMPOSITE checksums (S3 lists no others).
    public struct Parts: Sendable {
        public var partsCount: Int
        public var listing: Listing?

        public struct Listing: Sendable {
            public var partNumberMarker: Int
            public var nextPartNumberMarker: Int?
            public var maxParts: Int
            public var isTruncated: Bool
            public var algorithm: ChecksumAlgorithm
            public var parts: [ObjectPart]

            public init(partNumberMarker: Int, nextPartNumberMarker: Int?, maxParts: Int, isTruncated: Bool,
                        algorithm: ChecksumAlgorithm, parts: [ObjectPart]) {
                self.partNumberMarker = partNumberMarker
                self.nextPartNumberMarker = nextPartNumberMarker
                self.maxParts = maxParts
                self.isTruncated = isTruncated
                self.algorithm = algorithm
                self.parts = parts
            }
        }

        public init(partsCount: Int, listing: Listing? = nil) {
            self.partsCount = partsCount
            self.listing = listing
        }
    }

    public init() {}
}

/// PostObject with `success_action_status` 201.
public struct PostResponseResult: Sendable {
    public var location: String
    public var bucket: String
    public var key: String
    /// Quoted.
    public var etag: String

    public init(location: String, bucket: String, key: String, etag: String) {
        self.location = location
        self.bucket = bucket
        self.key = key
        self.etag = etag
    }
}
