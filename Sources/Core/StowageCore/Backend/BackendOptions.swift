public import NIOCore
/// Preconditions on reads (`If-Match`, `If-None-Match`, `If-Modified-Since`,
/// `If-Unmodified-Since`, or their `x-amz-copy-source-if-*` forms).
public struct ReadConditions: Sendable, Hashable {
    public var ifMatch: [String]?
    public var ifNoneMatch: [String]?
    public var ifModifiedSince: S3Timestamp?
    public var ifUnmodifiedSince: S3Timestamp?

    public init(ifMatch: [String]? = nil, ifNoneMatch: [String]? = nil, ifModifiedSince: S3Timestamp? = nil, ifUnmodifiedSince: S3Timestamp? = nil) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
    }

    public var isEmpty: Bool { ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil }

    public enum Outcome: Sendable, Equatable {
        case proceed
        case notModified
        case preconditionFailed(condition: String)
    }

    /// RFC 7232 §6 precedence, as S3 applies it: If-Match, else If-Unmodified-Since; then
    /// If-None-Match, else If-Modified-Since. S3 lets a true If-Match override a false
    /// If-Unmodified-Since, and a false If-None-Match win over If-Modified-Since.
    public func evaluate(etag: String, lastModified: S3Timestamp, isReadMethod: Bool = true) -> Outcome {
        let modified = lastModified.wholeSeconds
        if let ifMatch {
            if !ifMatch.contains(where: { ETagMatching.matches($0, etag) }) { return .preconditionFailed(condition: "If-Match") }
        } else if let ifUnmodifiedSince, modified > ifUnmodifiedSince {
            return .preconditionFailed(condition: "If-Unmodified-Since")
        }
        if let ifNoneMatch {
            if ifNoneMatch.contains(where: { ETagMatching.matches($0, etag) }) {
                return isReadMethod ? .notModified : .preconditionFailed(condition: "If-None-Match")
            }
        } else if let ifModifiedSince, modified <= ifModifiedSince, isReadMethod {
            return .notModified
        }
        return .proceed
    }
}

/// Preconditions on writes (`If-None-Match`, `If-Match`, RFC 7232 as S3 applies them): checked
/// atomically with the commit, so two racing writers cannot both win.
public struct WriteConditions: Sendable, Hashable {
    /// `If-None-Match`: fail when the current object's ETag is one of these; `*` matches any
    /// existing object. A missing key matches nothing.
    public var ifNoneMatch: [String]?
    /// `If-Match`: fail unless the current ETag is one of these (`*`: unless the key exists).
    public var ifMatch: [String]?

    public init(ifNoneMatch: [String]? = nil, ifMatch: [String]? = nil) {
        self.ifNoneMatch = ifNoneMatch
        self.ifMatch = ifMatch
    }

    /// `If-None-Match: *`, the create-only write.
    public static let createOnly = WriteConditions(ifNoneMatch: ["*"])

    public var isEmpty: Bool { ifNoneMatch == nil && ifMatch == nil }

    /// Checks against the current object (`nil` when absent): `If-Match` on a missing key is
    /// `NoSuchKey`, any other failed condition `412 PreconditionFailed`.
    public func check(current: ObjectInfo?) throws {
        if let ifMatch {
            guard let current else { throw S3Error(.noSuchKey) }
            if !ifMatch.contains(where: { ETagMatching.matches($0, current.etag) }) {
                throw S3Error(.preconditionFailed).with("Condition", "If-Match")
            }
        }
        if let ifNoneMatch, let current, ifNoneMatch.contains(where: { ETagMatching.matches($0, current.etag) }) {
            throw S3Error(.preconditionFailed).with("Condition", "If-None-Match")
        }
    }
}

/// ETag comparison as HTTP defines it (strong comparison; `*` matches anything; quotes and a
/// weak `W/` prefix are ignored).
public enum ETagMatching {
    public static func matches(_ candidate: String, _ etag: String) -> Bool {
        var value = candidate.trimmingSpaces()
        if value == "*" { return true }
        if value.hasPrefix("W/") { value.removeFirst(2) }
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
        return value == etag
    }

    /// Splits a header like `"a", "b"` into its entity tags.
    public static func list(_ header: String) -> [String] {
        header.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }
}

/// Options of PutObject (and of the object a multipart upload will create).
public struct PutObjectOptions: Sendable {
    public var metadata: ObjectMetadata
    /// The owner recorded with the object.
    public var owner: S3Identity
    /// `Content-MD5`, verified at the end of the body: `BadDigest` on mismatch, nothing stored.
    public var contentMD5: [UInt8]?
    /// The declared length; a body that ends short fails with `IncompleteBody`.
    public var expectedSize: Int64?
    /// `limits.maxObjectSize`: larger bodies fail with `EntityTooLarge`.
    public var maxSize: Int64
    public var conditions: WriteConditions
    /// The client's checksum, verified by the body as it ends; store `checksum.value` with the object.
    public var checksum: PayloadChecksum?

    public init(
        metadata: ObjectMetadata = ObjectMetadata(), owner: S3Identity = .anonymous, contentMD5: [UInt8]? = nil,
        expectedSize: Int64? = nil, maxSize: Int64 = S3Limits.maxUploadSize, conditions: WriteConditions = WriteConditions(),
        checksum: PayloadChecksum? = nil
    ) {
        self.checksum = checksum
        self.metadata = metadata
        self.owner = owner
        self.contentMD5 = contentMD5
        self.expectedSize = expectedSize
        self.maxSize = maxSize
        self.conditions = conditions
    }
}

/// Options of GetObject and HeadObject.
public struct GetObjectOptions: Sendable {
    public var range: RangeRequest?
    public var conditions: ReadConditions
    /// `partNumber=` on GET/HEAD of multipart objects.
    public var partNumber: Int?

    public init(range: RangeRequest? = nil, conditions: ReadConditions = ReadConditions(), partNumber: Int? = nil) {
        self.range = range
        self.conditions = conditions
        self.partNumber = partNumber
    }
}

/// The outcome of GetObject/HeadObject.
public struct ObjectReadResult: Sendable {
    public var info: ObjectInfo
    /// The range served, when the request asked for one.
    public var range: ByteRange?
    /// The bytes (empty for HeadObject).
    public var content: ObjectContent
    /// For `partNumber` reads: the part's checksum, when the object has per-part checksums.
    public var partChecksum: ObjectChecksum?
    /// The parts of a multipart object, in order (`headObject` fills them, for
    /// GetObjectAttributes); empty for single-part objects.
    public var parts: [ObjectPart]

    public init(info: ObjectInfo, range: ByteRange?, content: ObjectContent, partChecksum: ObjectChecksum? = nil, parts: [ObjectPart] = []) {
        self.info = info
        self.range = range
        self.content = content
        self.partChecksum = partChecksum
        self.parts = parts
    }
}

public enum ObjectContent: Sendable {
    case none
    case file(FileRegionBody)
    case stream(S3Body, length: Int64)
    /// Bytes in memory (small objects a backend keeps cached).
    case bytes(ByteBuffer)
}

/// Options of CopyObject.
public struct CopyObjectOptions: Sendable {
    public enum MetadataDirective: String, Sendable { case copy = "COPY", replace = "REPLACE" }

    public var metadataDirective: MetadataDirective
    /// The new metadata when the directive is `REPLACE`.
    public var metadata: ObjectMetadata
    public var owner: S3Identity
    public var sourceConditions: ReadConditions
    public var destinationConditions: WriteConditions
    public var maxSize: Int64

    public init(
        metadataDirective: MetadataDirective = .copy, metadata: ObjectMetadata = ObjectMetadata(), owner: S3Identity = .anonymous,
        sourceConditions: ReadConditions = ReadConditions(), destinationConditions: WriteConditions = WriteConditions(),
        maxSize: Int64 = S3Limits.maxUploadSize
    ) {
        self.metadataDirective = metadataDirective
        self.metadata = metadata
        self.owner = owner
        self.sourceConditions = sourceConditions
        self.destinationConditions = destinationConditions
        self.maxSize = maxSize
    }
}

/// A listing request as the backend sees it: version 1 and 2 differ only above the backend.
public struct ListObjectsQuery: Sendable, Hashable {
    public var prefix: String
    public var delimiter: String?
    /// List strictly after this key (marker, start-after, or the decoded continuation token).
    public var after: String?
    public var maxKeys: Int

    public init(prefix: String = "", delimiter: String? = nil, after: String? = nil, maxKeys: Int = 1000) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.after = after
        self.maxKeys = maxKeys
    }
}

/// One page of a listing, in byte order of the UTF-8 keys; common prefixes count toward `maxKeys`.
public struct ListObjectsPage: Sendable {
    public var objects: [ObjectInfo]
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    /// The last key or common prefix of the page (the next marker), when truncated.
    public var nextMarker: String?

    public init(objects: [ObjectInfo], commonPrefixes: [String], isTruncated: Bool, nextMarker: String?) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.isTruncated = isTruncated
        self.nextMarker = nextMarker
    }
}
