/// Every XML document a handler can answer with. The XML stage renders each case; adding a
/// case makes the compiler point at the renderer that must learn it.
public enum S3Result: Sendable {
    case listAllMyBuckets(ListAllMyBucketsResult)
    case listBucket(ListBucketResult)
    case listBucketV2(ListBucketV2Result)
    case locationConstraint(LocationConstraintResult)
    case copyObject(CopyObjectResult)
    case deleteResult(DeleteResult)
    case initiateMultipartUpload(InitiateMultipartUploadResult)
    case completeMultipartUpload(CompleteMultipartUploadResult)
    case copyPart(CopyPartResult)
    case listParts(ListPartsResult)
    case listMultipartUploads(ListMultipartUploadsResult)
    case accessControlPolicy(AccessControlPolicy)
    case policyStatus(PolicyStatusResult)
    case corsConfiguration(CORSConfiguration)
    case objectAttributes(GetObjectAttributesResult)
    case postResponse(PostResponseResult)
    case error(S3Error, requestID: String)
}

/// CreateMultipartUpload.
public struct InitiateMultipartUploadResult: Sendable {
    public var bucket: String
    public var key: String
    public var uploadID: String

    public init(bucket: String, key: String, uploadID: String) {
        self.bucket = bucket
        self.key = key
        self.uploadID = uploadID
    }
}

/// CompleteMultipartUpload.
public struct CompleteMultipartUploadResult: Sendable {
    public var location: String
    public var bucket: String
    public var key: String
    /// Quoted.
    public var etag: String
    public var checksum: ObjectChecksum?

    public init(location: String, bucket: String, key: String, etag: String, checksum: ObjectChecksum?) {
        self.location = location
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self.checksum = checksum
    }
}

/// UploadPartCopy.
public struct CopyPartResult: Sendable {
    public var etag: String
    public var lastModified: S3Timestamp
    public var checksum: (algorithm: ChecksumAlgorithm, value: [UInt8])?

    public init(etag: String, lastModified: S3Timestamp, checksum: (algorithm: ChecksumAlgorithm, value: [UInt8])?) {
        self.etag = etag
        self.lastModified = lastModified
        self.checksum = checksum
    }
}

/// ListParts.
public struct ListPartsResult: Sendable {
    public var bucket: String
    public var key: String
    public var uploadID: String
    public var owner: S3Owner
    public var storageClass: String
    public var partNumberMarker: Int
    public var nextPartNumberMarker: Int?
    public var maxParts: Int
    public var isTruncated: Bool
    public var parts: [PartInfo]
    public var checksumAlgorithm: ChecksumAlgorithm?
    public var checksumType: ChecksumType?

    public init(bucket: String, key: String, uploadID: String, owner: S3Owner, storageClass: String, partNumberMarker: Int,
                nextPartNumberMarker: Int?, maxParts: Int, isTruncated: Bool, parts: [PartInfo],
                checksumAlgorithm: ChecksumAlgorithm?, checksumType: ChecksumType?) {
        self.bucket = bucket
        self.key = key
        self.uploadID = uploadID
        self.owner = owner
        self.storageClass = storageClass
        self.partNumberMarker = partNumberMarker
        self.nextPartNumberMarker = nextPartNumberMarker
        self.maxParts = maxParts
        self.isTruncated = isTruncated
        self.parts = parts
        self.checksumAlgorithm = checksumAlgorithm
        self.checksumType = checksumType
    }
}

/// ListMultipartUploads.
public struct ListMultipartUploadsResult: Sendable {
    public struct Upload: Sendable {
        public var key: String
        public var uploadID: String
        public var initiated: S3Timestamp
        public var owner: S3Owner
        public var storageClass: String
        public var checksumAlgorithm: ChecksumAlgorithm?
        public var checksumType: ChecksumType?

        public init(key: String, uploadID: String, initiated: S3Timestamp, owner: S3Owner, storageClass: String,
                    checksumAlgorithm: ChecksumAlgorithm?, checksumType: ChecksumType?) {
            self.key = key
            self.uploadID = uploadID
            self.initiated = initiated
            self.owner = owner
            self.storageClass = storageClass
            self.checksumAlgorithm = checksumAlgorithm
            self.checksumType = checksumType
        }
    }

    public var bucket: String
    public var keyMarker: String
    public var uploadIDMarker: String
    public var nextKeyMarker: String?
    public var nextUploadIDMarker: String?
    public var prefix: String
    public var delimiter: String?
    public var maxUploads: Int
    public var isTruncated: Bool
    public var uploads: [Upload]
    public var commonPrefixes: [String]
    public var encodingType: String?

    public init(bucket: String, keyMarker: String, uploadIDMarker: String, nextKeyMarker: String?, nextUploadIDMarker: String?,
                prefix: String, delimiter: String?, maxUploads: Int, isTruncated: Bool, uploads: [Upload], commonPrefixes: [String],
                encodingType: String?) {
        self.bucket = bucket
        self.keyMarker = keyMarker
        self.uploadIDMarker = uploadIDMarker
        self.nextKeyMarker = nextKeyMarker
        self.nextUploadIDMarker = nextUploadIDMarker
        self.prefix = prefix
        self.delimiter = delimiter
        self.maxUploads = maxUploads
        self.isTruncated = isTruncated
        self.uploads = uploads
        self.commonPrefixes = commonPrefixes
        self.encodingType = encodingType
    }
}

/// The owner element of listings.
public struct S3Owner: Sendable, Hashable {
    public var id: String
    public var displayName: String

    public init(id: String, displayName: String) {
        self.id = id
        self.displayName = displayName
    }
}

/// ListBuckets.
public struct ListAllMyBucketsResult: Sendable {
    public var owner: S3Owner
    public var buckets: [BucketInfo]
    /// Set when `max-buckets` cut the list short.
    public var continuationToken: String?
    /// The `prefix` filter, echoed.
    public var prefix: String?

    public init(owner: S3Owner, buckets: [BucketInfo], continuationToken: String? = nil, prefix: String? = nil) {
        self.owner = owner
        self.buckets = buckets
        self.continuationToken = continuationToken
        self.prefix = prefix
    }
}

/// One `<Contents>` entry of a listing.
public struct ListedObject: Sendable, Hashable {
    public var key: String
    public var lastModified: S3Timestamp
    public var etag: String
    public var size: Int64
    public var storageClass: String
    public var owner: S3Owner?

    public init(key: String, lastModified: S3Timestamp, etag: String, size: Int64, storageClass: String = "STANDARD", owner: S3Owner? = nil) {
        self.key = key
        self.lastModified = lastModified
        self.etag = etag
        self.size = size
        self.storageClass = storageClass
        self.owner = owner
    }
}

/// ListObjects (version 1).
public struct ListBucketResult: Sendable {
    public var name: String
    public var prefix: String
    public var marker: String
    public var nextMarker: String?
    public var maxKeys: Int
    public var delimiter: String?
    public var isTruncated: Bool
    public var contents: [ListedObject]
    public var commonPrefixes: [String]
    /// `url` when keys are URL-encoded in the document.
    public var encodingType: String?

    public init(
        name: String, prefix: String, marker: String, nextMarker: String?, maxKeys: Int, delimiter: String?,
        isTruncated: Bool, contents: [ListedObject], commonPrefixes: [String], encodingType: String?
    ) {
        self.name = name
        self.prefix = prefix
        self.marker = marker
        self.nextMarker = nextMarker
        self.maxKeys = maxKeys
        self.delimiter = delimiter
        self.isTruncated = isTruncated
        self.contents = contents
        self.commonPrefixes = commonPrefixes
        self.encodingType = encodingType
    }
}

/// ListObjectsV2.
public struct ListBucketV2Result: Sendable {
    public var name: String
    public var prefix: String
    public var maxKeys: Int
    public var keyCount: Int
    public var delimiter: String?
    public var isTruncated: Bool
    public var continuationToken: String?
    public var nextContinuationToken: String?
    public var startAfter: String?
    public var contents: [ListedObject]
    public var commonPrefixes: [String]
    public var encodingType: String?

    public init(
        name: String, prefix: String, maxKeys: Int, keyCount: Int, delimiter: String?, isTruncated: Bool,
        continuationToken: String?, nextContinuationToken: String?, startAfter: String?, contents: [ListedObject],
        commonPrefixes: [String], encodingType: String?
    ) {
        self.name = name
        self.prefix = prefix
        self.maxKeys = maxKeys
        self.keyCount = keyCount
        self.delimiter = delimiter
        self.isTruncated = isTruncated
        self.continuationToken = continuationToken
        self.nextContinuationToken = nextContinuationToken
        self.startAfter = startAfter
        self.contents = contents
        self.commonPrefixes = commonPrefixes
        self.encodingType = encodingType
    }
}

/// GetBucketLocation. S3 answers an empty element for us-east-1.
public struct LocationConstraintResult: Sendable {
    public var region: String?

    public init(region: String?) { self.region = region }
}

/// CopyObject.
public struct CopyObjectResult: Sendable {
    public var etag: String
    public var lastModified: S3Timestamp

    public init(etag: String, lastModified: S3Timestamp) {
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// DeleteObjects.
public struct DeleteResult: Sendable {
    public struct Deleted: Sendable, Hashable {
        public var key: String
        public var versionID: String?

        public init(key: String, versionID: String? = nil) {
            self.key = key
            self.versionID = versionID
        }
    }

    public struct Failure: Sendable, Hashable {
        public var key: String
        public var versionID: String?
        public var code: String
        public var message: String

        public init(key: String, versionID: String? = nil, code: String, message: String) {
            self.key = key
            self.versionID = versionID
            self.code = code
            self.message = message
        }
    }

    public var deleted: [Deleted]
    public var errors: [Failure]

    public init(deleted: [Deleted], errors: [Failure]) {
        self.deleted = deleted
        self.errors = errors
    }
}
