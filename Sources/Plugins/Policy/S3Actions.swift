/// The S3 actions a bucket policy can name, by the kind of resource each applies to. Used to
/// validate policies (an unknown action, or one that applies to none of a statement's
/// resources, is `MalformedPolicy` as on S3).
enum S3Actions {
    enum ResourceKind { case bucket, object, account }

    static let object: Set<String> = [
        "AbortMultipartUpload", "BypassGovernanceRetention", "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion",
        "DeleteObjectVersionTagging", "GetObject", "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold", "GetObjectRetention",
        "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl", "GetObjectVersionAttributes",
        "GetObjectVersionForReplication", "GetObjectVersionTagging", "GetObjectVersionTorrent", "InitiateReplication",
        "ListMultipartUploadParts", "PutObject", "PutObjectAcl", "PutObjectLegalHold", "PutObjectRetention", "PutObjectTagging",
        "PutObjectVersionAcl", "PutObjectVersionTagging", "ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
    ]

    static let bucket: Set<String> = [
        "CreateBucket", "DeleteBucket", "DeleteBucketOwnershipControls", "DeleteBucketPolicy", "DeleteBucketWebsite",
        "GetAccelerateConfiguration", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation",
        "GetBucketLogging", "GetBucketMetadataTableConfiguration", "GetBucketNotification", "GetBucketObjectLockConfiguration",
        "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock",
        "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite", "GetEncryptionConfiguration",
        "GetIntelligentTieringConfiguration", "GetInventoryConfiguration", "GetLifecycleConfiguration", "GetMetricsConfiguration",
        "GetReplicationConfiguration", "ListBucket", "ListBucketMultipartUploads", "ListBucketVersions",
        "PutAccelerateConfiguration", "PutAnalyticsConfiguration", "PutBucketAcl", "PutBucketCORS", "PutBucketLogging",
        "PutBucketMetadataTableConfiguration", "PutBucketNotification", "PutBucketObjectLockConfiguration",
        "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketRequestPayment",
        "PutBucketTagging", "PutBucketVersioning", "PutBucketWebsite", "PutEncryptionConfiguration",
        "PutIntelligentTieringConfiguration", "PutInventoryConfiguration", "PutLifecycleConfiguration", "PutMetricsConfiguration",
        "PutReplicationConfiguration",
    ]

    static let account: Set<String> = [
        "ListAllMyBuckets", "GetAccountPublicAccessBlock", "PutAccountPublicAccessBlock", "ListAccessPoints", "ListJobs", "CreateJob",
    ]

    /// Every known action name, `s3:`-qualified.
    static let all: [(name: String, kind: ResourceKind)] =
        object.map { ("s3:" + $0, .object) } + bucket.map { ("s3:" + $0, .bucket) } + account.map { ("s3:" + $0, .account) }

    /// The known actions a pattern (`s3:Get*`, `s3:*`, `*`) names; empty when it names none.
    static func expand(_ pattern: String) -> [(name: String, kind: ResourceKind)] {
        all.filter { Wildcard.matches(pattern, $0.name, caseInsensitive: true) }
    }
}
