/// Every XML document a handler can answer with. The XML stage renders each case; adding a
/// case makes the compiler point at the renderer that must learn it.
public enum S3Result: Sendable {
    case listAllMyBuckets(ListAllMyBucketsResult)
    case listBucket(ListBucketResult)
    case listBucketV2(ListBucketV2Result)
    case locationConstraint(LocationConstraintResult)
    case copyObject(CopyObjectResult)
    case deleteResult(DeleteResult)
    case error(S3Error, requestID: String)
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
