/// A bucket and key: where an object lives.
public struct ObjectAddress: Sendable, Hashable, CustomStringConvertible {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// `/bucket/key`, the `<Resource>` of error documents.
    public var description: String { "/\(bucket)/\(key)" }

    /// S3 keys are bytes: `café` and `cafe\u{301}` are different objects, although Swift's
    /// `String ==` calls them equal (canonical equivalence). Identity compares UTF-8 bytes.
    public static func == (lhs: ObjectAddress, rhs: ObjectAddress) -> Bool {
        lhs.bucket.utf8.elementsEqual(rhs.bucket.utf8) && lhs.key.utf8.elementsEqual(rhs.key.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        for byte in bucket.utf8 { hasher.combine(byte) }
        hasher.combine(0xFF as UInt8)
        for byte in key.utf8 { hasher.combine(byte) }
    }
}

extension String {
    /// Byte-wise equality of the UTF-8 encodings (S3 key identity), unlike `==`.
    public func sameBytes(as other: String) -> Bool { utf8.elementsEqual(other.utf8) }
}

/// The source of a copy (`x-amz-copy-source`).
public struct CopySource: Sendable, Hashable {
    public var address: ObjectAddress
    public var versionID: String?

    public init(address: ObjectAddress, versionID: String? = nil) {
        self.address = address
        self.versionID = versionID
    }
}

/// Bucket-level configuration subresources (`?policy`, `?cors`, ...).
public enum BucketSubresource: String, Sendable, Hashable, CaseIterable {
    case accelerate
    case acl
    case analytics
    case cors
    case encryption
    case intelligentTiering = "intelligent-tiering"
    case inventory
    case lifecycle
    case logging
    case metadataConfiguration = "metadataConfiguration"
    case metrics
    case notification
    case objectLock = "object-lock"
    case ownershipControls
    case policy
    case policyStatus
    case publicAccessBlock
    case replication
    case requestPayment
    case tagging
    case versioning
    case website

    /// The S3 action name stem, e.g. `BucketPolicy` in `GetBucketPolicy`.
    public var actionStem: String {
        switch self {
        case .accelerate: "BucketAccelerateConfiguration"
        case .acl: "BucketAcl"
        case .analytics: "BucketAnalyticsConfiguration"
        case .cors: "BucketCors"
        case .encryption: "BucketEncryption"
        case .intelligentTiering: "BucketIntelligentTieringConfiguration"
        case .inventory: "BucketInventoryConfiguration"
        case .lifecycle: "BucketLifecycleConfiguration"
        case .logging: "BucketLogging"
        case .metadataConfiguration: "BucketMetadataConfiguration"
        case .metrics: "BucketMetricsConfiguration"
        case .notification: "BucketNotificationConfiguration"
        case .objectLock: "ObjectLockConfiguration"
        case .ownershipControls: "BucketOwnershipControls"
        case .policy: "BucketPolicy"
        case .policyStatus: "BucketPolicyStatus"
        case .publicAccessBlock: "PublicAccessBlock"
        case .replication: "BucketReplication"
        case .requestPayment: "BucketRequestPayment"
        case .tagging: "BucketTagging"
        case .versioning: "BucketVersioning"
        case .website: "BucketWebsite"
        }
    }
}

/// Object-level subresources other than multipart (`?acl`, `?tagging`, ...).
public enum ObjectSubresource: String, Sendable, Hashable, CaseIterable {
    case acl
    case attributes
    case legalHold = "legal-hold"
    case restore
    case retention
    case select
    case tagging
    case torrent

    public var actionStem: String {
        switch self {
        case .acl: "ObjectAcl"
        case .attributes: "ObjectAttributes"
        case .legalHold: "ObjectLegalHold"
        case .restore: "RestoreObject"
        case .retention: "ObjectRetention"
        case .select: "SelectObjectContent"
        case .tagging: "ObjectTagging"
        case .torrent: "ObjectTorrent"
        }
    }
}

/// Every S3 operation Stowage recognises, parsed once by the routing stage and dispatched with
/// one exhaustive `switch`. Operations a backend does not implement answer `501 NotImplemented`.
public enum S3Operation: Sendable, Hashable {
    // Service
    case listBuckets

    // Buckets
    case createBucket(bucket: String)
    case deleteBucket(bucket: String)
    case headBucket(bucket: String)
    case getBucketLocation(bucket: String)
    case listObjects(bucket: String)
    case listObjectsV2(bucket: String)
    case listObjectVersions(bucket: String)
    case deleteObjects(bucket: String)
    case listMultipartUploads(bucket: String)
    case postObject(bucket: String)
    case getBucketSubresource(bucket: String, BucketSubresource)
    case putBucketSubresource(bucket: String, BucketSubresource)
    case deleteBucketSubresource(bucket: String, BucketSubresource)

    // Objects
    case putObject(ObjectAddress)
    case copyObject(ObjectAddress, source: CopySource)
    case getObject(ObjectAddress)
    case headObject(ObjectAddress)
    case deleteObject(ObjectAddress)
    case getObjectSubresource(ObjectAddress, ObjectSubresource)
    case putObjectSubresource(ObjectAddress, ObjectSubresource)
    case deleteObjectSubresource(ObjectAddress, ObjectSubresource)
    case postObjectSubresource(ObjectAddress, ObjectSubresource)

    // Multipart uploads
    case createMultipartUpload(ObjectAddress)
    case uploadPart(ObjectAddress, uploadID: String, partNumber: Int)
    case uploadPartCopy(ObjectAddress, uploadID: String, partNumber: Int, source: CopySource)
    case completeMultipartUpload(ObjectAddress, uploadID: String)
    case abortMultipartUpload(ObjectAddress, uploadID: String)
    case listParts(ObjectAddress, uploadID: String)

    // CORS
    /// `OPTIONS` preflight ("OPTIONS object" in the S3 API reference).
    case corsPreflight(bucket: String?, key: String?)

    /// A recognised S3 request this server does not implement (e.g. `?session`): 501.
    case unsupported(name: String, bucket: String?)

    /// The bucket the operation addresses, if any.
    public var bucket: String? {
        switch self {
        case .listBuckets:
            return nil
        case .corsPreflight(let b, _), .unsupported(_, let b):
            return b
        case .createBucket(let b), .deleteBucket(let b), .headBucket(let b), .getBucketLocation(let b),
            .listObjects(let b), .listObjectsV2(let b), .listObjectVersions(let b), .deleteObjects(let b),
            .listMultipartUploads(let b), .postObject(let b), .getBucketSubresource(let b, _),
            .putBucketSubresource(let b, _), .deleteBucketSubresource(let b, _):
            return b
        default:
            return object?.bucket
        }
    }

    /// The object the operation addresses, if any.
    public var object: ObjectAddress? {
        switch self {
        case .putObject(let a), .copyObject(let a, _), .getObject(let a), .headObject(let a), .deleteObject(let a),
            .getObjectSubresource(let a, _), .putObjectSubresource(let a, _), .deleteObjectSubresource(let a, _),
            .postObjectSubresource(let a, _), .createMultipartUpload(let a), .uploadPart(let a, _, _),
            .uploadPartCopy(let a, _, _, _), .completeMultipartUpload(let a, _), .abortMultipartUpload(let a, _),
            .listParts(let a, _):
            return a
        default:
            return nil
        }
    }

    /// The S3 API name, as in the API reference and CloudTrail (`GetObject`, `ListObjectsV2`).
    public var name: String {
        switch self {
        case .listBuckets: "ListBuckets"
        case .createBucket: "CreateBucket"
        case .deleteBucket: "DeleteBucket"
        case .headBucket: "HeadBucket"
        case .getBucketLocation: "GetBucketLocation"
        case .listObjects: "ListObjects"
        case .listObjectsV2: "ListObjectsV2"
        case .listObjectVersions: "ListObjectVersions"
        case .deleteObjects: "DeleteObjects"
        case .listMultipartUploads: "ListMultipartUploads"
        case .postObject: "PostObject"
        case .getBucketSubresource(_, let s):
            s == .policyStatus ? "GetBucketPolicyStatus" : "Get\(s.actionStem)"
        case .putBucketSubresource(_, let s): "Put\(s.actionStem)"
        case .deleteBucketSubresource(_, let s): s == .cors ? "DeleteBucketCors" : "Delete\(s.actionStem)"
        case .putObject: "PutObject"
        case .copyObject: "CopyObject"
        case .getObject: "GetObject"
        case .headObject: "HeadObject"
        case .deleteObject: "DeleteObject"
        case .getObjectSubresource(_, let s): s == .torrent ? "GetObjectTorrent" : "Get\(s.actionStem)"
        case .putObjectSubresource(_, let s): "Put\(s.actionStem)"
        case .deleteObjectSubresource(_, let s): "Delete\(s.actionStem)"
        case .postObjectSubresource(_, let s): s == .restore ? "RestoreObject" : s.actionStem
        case .createMultipartUpload: "CreateMultipartUpload"
        case .uploadPart: "UploadPart"
        case .uploadPartCopy: "UploadPartCopy"
        case .completeMultipartUpload: "CompleteMultipartUpload"
        case .abortMultipartUpload: "AbortMultipartUpload"
        case .listParts: "ListParts"
        case .corsPreflight: "PreflightRequest"
        case .unsupported(let name, _): name
        }
    }

    /// The IAM action S3 authorizes the operation as (`s3:ListBucket` for ListObjectsV2,
    /// `s3:GetObject` for HeadObject, `s3:PutObject` for UploadPart, ...).
    public var iamAction: String {
        switch self {
        case .listBuckets: "s3:ListAllMyBuckets"
        case .createBucket: "s3:CreateBucket"
        case .deleteBucket: "s3:DeleteBucket"
        case .headBucket, .listObjects, .listObjectsV2: "s3:ListBucket"
        case .getBucketLocation: "s3:GetBucketLocation"
        case .listObjectVersions: "s3:ListBucketVersions"
        case .deleteObjects: "s3:DeleteObject"
        case .listMultipartUploads: "s3:ListBucketMultipartUploads"
        case .postObject, .putObject, .copyObject, .createMultipartUpload, .uploadPart, .uploadPartCopy,
            .completeMultipartUpload:
            "s3:PutObject"
        case .getObject, .headObject: "s3:GetObject"
        case .deleteObject: "s3:DeleteObject"
        case .abortMultipartUpload: "s3:AbortMultipartUpload"
        case .listParts: "s3:ListMultipartUploadParts"
        case .corsPreflight: "s3:PreflightRequest"
        case .unsupported(let name, _): "s3:\(name)"
        case .getBucketSubresource(_, let s):
            switch s {
            case .lifecycle: "s3:GetLifecycleConfiguration"
            case .cors: "s3:GetBucketCORS"
            case .notification: "s3:GetBucketNotification"
            case .replication: "s3:GetReplicationConfiguration"
            case .encryption: "s3:GetEncryptionConfiguration"
            case .analytics: "s3:GetAnalyticsConfiguration"
            case .inventory: "s3:GetInventoryConfiguration"
            case .metrics: "s3:GetMetricsConfiguration"
            case .intelligentTiering: "s3:GetIntelligentTieringConfiguration"
            case .accelerate: "s3:GetAccelerateConfiguration"
            case .objectLock: "s3:GetBucketObjectLockConfiguration"
            case .website: "s3:GetBucketWebsite"
            default: "s3:Get\(s.actionStem)"
            }
        case .putBucketSubresource(_, let s):
            switch s {
            case .lifecycle: "s3:PutLifecycleConfiguration"
            case .cors: "s3:PutBucketCORS"
            case .notification: "s3:PutBucketNotification"
            case .replication: "s3:PutReplicationConfiguration"
            case .encryption: "s3:PutEncryptionConfiguration"
            case .analytics: "s3:PutAnalyticsConfiguration"
            case .inventory: "s3:PutInventoryConfiguration"
            case .metrics: "s3:PutMetricsConfiguration"
            case .intelligentTiering: "s3:PutIntelligentTieringConfiguration"
            case .accelerate: "s3:PutAccelerateConfiguration"
            case .objectLock: "s3:PutBucketObjectLockConfiguration"
            case .website: "s3:PutBucketWebsite"
            default: "s3:Put\(s.actionStem)"
            }
        case .deleteBucketSubresource(_, let s):
            switch s {
            case .lifecycle: "s3:PutLifecycleConfiguration"
            case .cors: "s3:PutBucketCORS"
            case .replication: "s3:PutReplicationConfiguration"
            case .encryption: "s3:PutEncryptionConfiguration"
            case .analytics: "s3:PutAnalyticsConfiguration"
            case .inventory: "s3:PutInventoryConfiguration"
            case .metrics: "s3:PutMetricsConfiguration"
            case .intelligentTiering: "s3:PutIntelligentTieringConfiguration"
            case .website: "s3:DeleteBucketWebsite"
            case .policy: "s3:DeleteBucketPolicy"
            case .ownershipControls: "s3:PutBucketOwnershipControls"
            case .publicAccessBlock: "s3:PutBucketPublicAccessBlock"
            case .tagging: "s3:PutBucketTagging"
            default: "s3:Put\(s.actionStem)"
            }
        case .getObjectSubresource(_, let s):
            switch s {
            case .attributes: "s3:GetObjectAttributes"
            case .select: "s3:GetObject"
            default: "s3:Get\(s.actionStem)"
            }
        case .putObjectSubresource(_, let s): "s3:Put\(s.actionStem)"
        case .deleteObjectSubresource(_, let s): "s3:Delete\(s.actionStem)"
        case .postObjectSubresource(_, let s): s == .restore ? "s3:RestoreObject" : "s3:GetObject"
        }
    }
}
