// MARK: Multipart

/// Options of CreateMultipartUpload.
public struct MultipartUploadOptions: Sendable {
    public var metadata: ObjectMetadata
    public var owner: S3Identity
    public var storageClass: String
    /// `x-amz-checksum-algorithm`: every part carries a checksum of this algorithm.
    public var checksumAlgorithm: ChecksumAlgorithm?
    /// `x-amz-checksum-type`: how the object's checksum is derived from the parts'.
    public var checksumType: ChecksumType?

    public init(metadata: ObjectMetadata = ObjectMetadata(), owner: S3Identity = .anonymous, storageClass: String = "STANDARD",
                checksumAlgorithm: ChecksumAlgorithm? = nil, checksumType: ChecksumType? = nil) {
        self.metadata = metadata
        self.owner = owner
        self.storageClass = storageClass
        self.checksumAlgorithm = checksumAlgorithm
        self.checksumType = checksumType
    }
}

public struct PartOptions: Sendable {
    public var contentMD5: [UInt8]?
    public var expectedSize: Int64?
    public var maxSize: Int64
    /// The client's checksum of the part, verified as the body ends.
    public var checksum: PayloadChecksum?

    public init(contentMD5: [UInt8]? = nil, expectedSize: Int64? = nil, maxSize: Int64 = S3Limits.maxUploadSize, checksum: PayloadChecksum? = nil) {
        self.contentMD5 = contentMD5
        self.expectedSize = expectedSize
        self.maxSize = maxSize
        self.checksum = checksum
    }
}

/// Options of UploadPartCopy.
public struct PartCopyOptions: Sendable {
    /// `x-amz-copy-source-range` (`bytes=first-last`), inclusive; `nil` copies the whole source.
    public var range: ByteRange?
    public var sourceConditions: ReadConditions
    public var maxSize: Int64

    public init(range: ByteRange? = nil, sourceConditions: ReadConditions = ReadConditions(), maxSize: Int64 = S3Limits.maxUploadSize) {
        self.range = range
        self.sourceConditions = sourceConditions
        self.maxSize = maxSize
    }
}

public struct PartInfo: Sendable, Hashable {
    public var partNumber: Int
    /// Hex MD5 of the part, without quotes.
    public var etag: String
    public var size: Int64
    public var lastModified: S3Timestamp
    /// The part's checksum (the upload's algorithm, or the one the client sent), when there is one.
    public var checksum: (algorithm: ChecksumAlgorithm, value: [UInt8])? {
        get { checksumAlgorithm.flatMap { algorithm in checksumValue.map { (algorithm, $0) } } }
        set { checksumAlgorithm = newValue?.algorithm; checksumValue = newValue?.value }
    }
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksumValue: [UInt8]?

    public init(partNumber: Int, etag: String, size: Int64, lastModified: S3Timestamp, checksum: (algorithm: ChecksumAlgorithm, value: [UInt8])? = nil) {
        self.partNumber = partNumber
        self.etag = etag
        self.size = size
        self.lastModified = lastModified
        self.checksumAlgorithm = checksum?.algorithm
        self.checksumValue = checksum?.value
    }
}

/// One `<Part>` of a CompleteMultipartUpload request.
public struct CompletedPart: Sendable, Hashable {
    public var partNumber: Int
    public var etag: String
    /// Checksums the client lists for the part, by algorithm (Base64 values).
    public var checksums: [ChecksumAlgorithm: String]

    public init(partNumber: Int, etag: String, checksums: [ChecksumAlgorithm: String] = [:]) {
        self.partNumber = partNumber
        self.etag = etag
        self.checksums = checksums
    }
}

public struct CompleteMultipartOptions: Sendable {
    public var conditions: WriteConditions
    /// A whole-object checksum header sent with Complete (`x-amz-checksum-crc32: …`); must match.
    public var expectedChecksum: (algorithm: ChecksumAlgorithm, value: String)?
    /// `x-amz-checksum-type` sent with Complete; must match the upload's (`BadDigest`).
    public var expectedChecksumType: ChecksumType?
    /// `x-amz-mp-object-size`: the assembled size must match (`InvalidRequest`).
    public var expectedSize: Int64?
    /// `limits.maxObjectSize`: a larger assembled object is `EntityTooLarge`.
    public var maxSize: Int64?

    public init(conditions: WriteConditions = WriteConditions(), expectedChecksum: (algorithm: ChecksumAlgorithm, value: String)? = nil,
                expectedChecksumType: ChecksumType? = nil, expectedSize: Int64? = nil, maxSize: Int64? = nil) {
        self.conditions = conditions
        self.expectedChecksum = expectedChecksum
        self.expectedChecksumType = expectedChecksumType
        self.expectedSize = expectedSize
        self.maxSize = maxSize
    }
}

public struct ListPartsQuery: Sendable, Hashable {
    public var partNumberMarker: Int
    public var maxParts: Int

    public init(partNumberMarker: Int = 0, maxParts: Int = 1000) {
        self.partNumberMarker = partNumberMarker
        self.maxParts = maxParts
    }
}

public struct ListPartsPage: Sendable {
    public var upload: MultipartUploadInfo
    public var parts: [PartInfo]
    public var isTruncated: Bool
    public var nextPartNumberMarker: Int?

    public init(upload: MultipartUploadInfo, parts: [PartInfo], isTruncated: Bool, nextPartNumberMarker: Int?) {
        self.upload = upload
        self.parts = parts
        self.isTruncated = isTruncated
        self.nextPartNumberMarker = nextPartNumberMarker
    }
}

public struct ListUploadsQuery: Sendable, Hashable {
    public var prefix: String
    public var delimiter: String?
    public var keyMarker: String?
    public var uploadIDMarker: String?
    public var maxUploads: Int

    public init(prefix: String = "", delimiter: String? = nil, keyMarker: String? = nil, uploadIDMarker: String? = nil, maxUploads: Int = 1000) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.keyMarker = keyMarker
        self.uploadIDMarker = uploadIDMarker
        self.maxUploads = maxUploads
    }
}

public struct MultipartUploadInfo: Sendable, Hashable {
    public var key: String
    public var uploadID: String
    public var initiated: S3Timestamp
    public var ownerID: String?
    public var storageClass: String
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksumType: ChecksumType?

    public init(key: String, uploadID: String, initiated: S3Timestamp, ownerID: String? = nil, storageClass: String = "STANDARD",
                checksumAlgorithm: ChecksumAlgorithm? = nil, checksumType: ChecksumType? = nil) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
        self.ownerID = ownerID
        self.storageClass = storageClass
        self.checksumAlgorithm = checksumAlgorithm
        self.checksumType = checksumType
    }
}

public struct ListUploadsPage: Sendable {
    public var uploads: [MultipartUploadInfo]
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    public var nextKeyMarker: String?
    public var nextUploadIDMarker: String?

    public init(uploads: [MultipartUploadInfo], commonPrefixes: [String], isTruncated: Bool, nextKeyMarker: String?, nextUploadIDMarker: String?) {
        self.uploads = uploads
        self.commonPrefixes = commonPrefixes
        self.isTruncated = isTruncated
        self.nextKeyMarker = nextKeyMarker
        self.nextUploadIDMarker = nextUploadIDMarker
    }
}
