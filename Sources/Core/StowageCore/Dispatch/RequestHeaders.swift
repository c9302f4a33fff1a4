public import HTTPTypes
import Synchronization

extension HTTPField.Name {
    public static let amzRequestID = HTTPField.Name("x-amz-request-id")!
    public static let amzID2 = HTTPField.Name("x-amz-id-2")!
    public static let amzCopySource = HTTPField.Name("x-amz-copy-source")!
    public static let amzMetadataDirective = HTTPField.Name("x-amz-metadata-directive")!
    public static let amzContentSHA256 = HTTPField.Name("x-amz-content-sha256")!
    public static let amzDecodedContentLength = HTTPField.Name("x-amz-decoded-content-length")!
    public static let amzBucketRegion = HTTPField.Name("x-amz-bucket-region")!
    public static let amzWebsiteRedirectLocation = HTTPField.Name("x-amz-website-redirect-location")!
    public static let amzStorageClass = HTTPField.Name("x-amz-storage-class")!
    public static let amzMPPartsCount = HTTPField.Name("x-amz-mp-parts-count")!
    public static let amzDate = HTTPField.Name("x-amz-date")!
    public static let amzACL = HTTPField.Name("x-amz-acl")!
    public static let contentMD5 = HTTPField.Name("Content-MD5")!
    public static let contentLanguage = HTTPField.Name("Content-Language")!
    public static let expires = HTTPField.Name("Expires")!
}

/// Reading S3 request headers into typed values.
enum RequestHeaders {
    static let userMetadataPrefix = "x-amz-meta-"

    /// The object metadata carried by a PUT/COPY/CreateMultipartUpload request.
    /// Throws `MetadataTooLarge` past `limit` bytes of user metadata (names and values).
    static func metadata(from headers: HTTPFields, limit: Int) throws -> ObjectMetadata {
        var metadata = ObjectMetadata()
        metadata.cannedACL = try CannedACL(header: headers[.amzACL])
        metadata.contentType = headers[.contentType]
        metadata.contentEncoding = headers[.contentEncoding].flatMap(stripAWSChunked)
        metadata.contentDisposition = headers[.contentDisposition]
        metadata.contentLanguage = headers[.contentLanguage]
        metadata.cacheControl = headers[.cacheControl]
        metadata.expires = headers[.expires]
        metadata.websiteRedirectLocation = headers[.amzWebsiteRedirectLocation]
        var size = 0
        for field in headers {
            let name = field.name.canonicalName
            guard name.hasPrefix(userMetadataPrefix) else { continue }
            let key = String(name.dropFirst(userMetadataPrefix.count))
            if let existing = metadata.user[key] {
                // Repeated headers combine with a comma, as HTTP folds them.
                metadata.user[key] = existing + "," + field.value
            } else {
                metadata.user[key] = field.value
            }
        }
        for (key, value) in metadata.user { size += key.utf8.count + value.utf8.count }
        if size > limit {
            throw S3Error(.metadataTooLarge).with("Size", "\(size)").with("MaxSizeAllowed", "\(limit)")
        }
        return metadata
    }

    /// `aws-chunked` is transfer framing, not a stored encoding: S3 drops it from Content-Encoding
    /// and keeps the rest as sent (`aws-chunked, deflate, gzip` → `deflate, gzip`).
    static func stripAWSChunked(_ value: String) -> String? {
        let pieces = value.split(separator: ",", omittingEmptySubsequences: false)
        let kept = pieces.filter { $0.trimmingSpaces().lowercased() != "aws-chunked" }
        guard kept.count != pieces.count else { return value }
        let rest = kept.joined(separator: ",").trimmingSpaces()
        return rest.isEmpty ? nil : rest
    }

    /// `Content-MD5`: `InvalidDigest` unless it is the Base64 of 16 bytes.
    static func contentMD5(_ headers: HTTPFields) throws -> [UInt8]? {
        guard let value = headers[.contentMD5] else { return nil }
        guard let digest = Base64.decode(value.trimmingSpaces()), digest.count == 16 else {
            throw S3Error(.invalidDigest).with("Content-MD5", value)
        }
        return digest
    }

    /// `Content-Length` as a number, `nil` when absent; `InvalidArgument` when malformed.
    static func contentLength(_ headers: HTTPFields) throws -> Int64? {
        guard let value = headers[.contentLength] else { return nil }
        guard let length = Int64(value.trimmingSpaces()), length >= 0 else {
            throw S3Error.invalidArgument("Content-Length must be a non-negative integer", name: "Content-Length", value: value)
        }
        return length
    }

    /// Whether the body comes in HTTP/1.1's chunked transfer coding (no declared length).
    static func isChunkedTransfer(_ headers: HTTPFields) -> Bool {
        guard let value = headers[.transferEncoding] else { return false }
        return value.split(separator: ",").contains { $0.trimmingSpaces().lowercased() == "chunked" }
    }

    /// The read preconditions of GET/HEAD (`If-*`) or of a copy source (`x-amz-copy-source-if-*`).
    private static let conditionNames: [HTTPField.Name] = [.ifMatch, .ifNoneMatch, .ifModifiedSince, .ifUnmodifiedSince]
    private static let copySourceConditionNames: [HTTPField.Name] = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]
        .map { HTTPField.Name("x-amz-copy-source-\($0)")! }

    static func readConditions(_ headers: HTTPFields, copySource: Bool = false) -> ReadConditions {
        let names = copySource ? copySourceConditionNames : conditionNames
        var conditions = ReadConditions()
        conditions.ifMatch = headers[names[0]].map(ETagMatching.list)
        conditions.ifNoneMatch = headers[names[1]].map(ETagMatching.list)
        // An unparseable date is ignored, as HTTP requires.
        conditions.ifModifiedSince = headers[names[2]].flatMap(S3Timestamp.init(httpDate:))
        conditions.ifUnmodifiedSince = headers[names[3]].flatMap(S3Timestamp.init(httpDate:))
        return conditions
    }

    /// The write preconditions of PutObject/CompleteMultipartUpload.
    static func writeConditions(_ headers: HTTPFields) throws -> WriteConditions {
        var conditions = WriteConditions()
        if let value = headers[.ifNoneMatch] { conditions.ifNoneMatch = ETagMatching.list(value) }
        if let value = headers[.ifMatch] { conditions.ifMatch = ETagMatching.list(value) }
        return conditions
    }

}

/// Writing an object's stored headers into a response.
enum ResponseHeaders {
    static let checksumType = HTTPField.Name("x-amz-checksum-type")!

    /// `x-amz-checksum-<algorithm>` and `x-amz-checksum-type`.
    static func checksum(_ checksum: ObjectChecksum?, into headers: inout HTTPFields) {
        guard let checksum else { return }
        headers[HTTPField.Name(checksum.algorithm.headerName)!] = checksum.encoded
        headers[checksumType] = checksum.type.rawValue
    }

    static func object(_ info: ObjectInfo, into headers: inout HTTPFields) {
        headers[.eTag] = info.quotedETag
        headers[.lastModified] = HTTPDates.format(info.lastModified)
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = info.metadata.contentType ?? "binary/octet-stream"
        for (name, value) in info.metadata.storedHeaders where name != "Content-Type" {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        if info.storageClass != "STANDARD" { headers[.amzStorageClass] = info.storageClass }
    }
}
