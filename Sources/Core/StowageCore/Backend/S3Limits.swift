/// Limits S3 documents, defined once.
public enum S3Limits {
    /// The largest single upload S3 accepts: a PutObject, an UploadPart, a CopyObject or an
    /// UploadPartCopy range (5 GiB). Bigger objects are assembled from parts.
    public static let maxUploadSize: Int64 = 5 * 1024 * 1024 * 1024
    /// The largest bucket policy document (20 KB).
    public static let maxBucketPolicySize = 20 * 1024
}
