/// The headers S3 stores with an object and returns on GET/HEAD.
public struct ObjectMetadata: Sendable, Hashable {
    public var contentType: String?
    public var contentEncoding: String?
    public var contentDisposition: String?
    public var contentLanguage: String?
    public var cacheControl: String?
    public var expires: String?
    public var websiteRedirectLocation: String?
    /// `x-amz-meta-*` values by lower-cased name, without the prefix.
    public var user: [String: String]
    /// The object's canned ACL (`x-amz-acl`); `nil` is `private`. Not a response header.
    public var cannedACL: CannedACL?

    public init(
        contentType: String? = nil, contentEncoding: String? = nil, contentDisposition: String? = nil,
        contentLanguage: String? = nil, cacheControl: String? = nil, expires: String? = nil,
        websiteRedirectLocation: String? = nil, user: [String: String] = [:], cannedACL: CannedACL? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.contentDisposition = contentDisposition
        self.contentLanguage = contentLanguage
        self.cacheControl = cacheControl
        self.expires = expires
        self.websiteRedirectLocation = websiteRedirectLocation
        self.user = user
        self.cannedACL = cannedACL
    }

    /// The same metadata with another ACL (CopyObject never copies the source's ACL).
    public func replacingACL(_ acl: CannedACL?) -> ObjectMetadata {
        var copy = self
        copy.cannedACL = acl
        return copy
    }

    /// The stored headers as name/value pairs, in a stable order.
    public var storedHeaders: [(name: String, value: String)] {
        var pairs: [(String, String)] = []
        if let contentType { pairs.append(("Content-Type", contentType)) }
        if let contentEncoding { pairs.append(("Content-Encoding", contentEncoding)) }
        if let contentDisposition { pairs.append(("Content-Disposition", contentDisposition)) }
        if let contentLanguage { pairs.append(("Content-Language", contentLanguage)) }
        if let cacheControl { pairs.append(("Cache-Control", cacheControl)) }
        if let expires { pairs.append(("Expires", expires)) }
        if let websiteRedirectLocation { pairs.append(("x-amz-website-redirect-location", websiteRedirectLocation)) }
        for (name, value) in user.sorted(by: { $0.key < $1.key }) { pairs.append(("x-amz-meta-\(name)", value)) }
        return pairs
    }
}

/// A stored checksum of an object (or of a part): its algorithm, digest and how it covers the
/// object.
public struct ObjectChecksum: Sendable, Hashable {
    public var algorithm: ChecksumAlgorithm
    public var value: [UInt8]
    public var type: ChecksumType
    /// For COMPOSITE multipart checksums, the number of parts (`…-N`).
    public var partCount: Int?

    public init(algorithm: ChecksumAlgorithm, value: [UInt8], type: ChecksumType = .fullObject, partCount: Int? = nil) {
        self.algorithm = algorithm
        self.value = value
        self.type = type
        self.partCount = partCount
    }

    /// The header/element value: Base64 of the digest, with `-N` for composite checksums.
    public var encoded: String {
        let base = Base64.encode(value)
        if type == .composite, let partCount { return "\(base)-\(partCount)" }
        return base
    }
}

/// What a backend knows about a stored object.
public struct ObjectInfo: Sendable, Hashable {
    public var key: String
    public var size: Int64
    /// The entity tag without quotes: hex MD5, or `<hex>-<parts>` for multipart objects.
    public var etag: String
    public var lastModified: S3Timestamp
    public var metadata: ObjectMetadata
    public var storageClass: String
    /// The owner's canonical id, for `fetch-owner` listings.
    public var ownerID: String?
    /// Parts of a multipart object, 0 for single-part objects.
    public var partCount: Int
    /// The checksum stored with the object, if the client sent one.
    public var checksum: ObjectChecksum?

    public init(
        key: String, size: Int64, etag: String, lastModified: S3Timestamp, metadata: ObjectMetadata = ObjectMetadata(),
        storageClass: String = "STANDARD", ownerID: String? = nil, partCount: Int = 0, checksum: ObjectChecksum? = nil
    ) {
        self.checksum = checksum
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.metadata = metadata
        self.storageClass = storageClass
        self.ownerID = ownerID
        self.partCount = partCount
    }

    /// The ETag header value, quoted.
    public var quotedETag: String { "\"\(etag)\"" }
}

/// What a backend knows about a bucket.
public struct BucketInfo: Sendable, Hashable {
    public var name: String
    public var creationDate: S3Timestamp
    public var ownerID: String
    public var region: String
    /// Changes whenever one of the bucket's configuration documents does (policy, CORS, ACL,
    /// ...): stages cache what they parse under it (`BucketConfigurationCache`), so a change
    /// made anywhere, on any node, is seen at the next request.
    public var configurationVersion: UInt64

    public init(name: String, creationDate: S3Timestamp, ownerID: String, region: String, configurationVersion: UInt64 = 0) {
        self.name = name
        self.creationDate = creationDate
        self.ownerID = ownerID
        self.region = region
        self.configurationVersion = configurationVersion
    }
}

/// A byte range as S3 resolves it against an object's size.
public struct ByteRange: Sendable, Hashable {
    public var first: Int64
    public var last: Int64

    public init(first: Int64, last: Int64) {
        self.first = first
        self.last = last
    }

    public var count: Int64 { last - first + 1 }
}

/// A `Range` request header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) before it meets a size.
public enum RangeRequest: Sendable, Hashable {
    case fromTo(Int64, Int64)
    case from(Int64)
    case suffix(Int64)

    /// Parses a single-range `Range` header. Returns `nil` for anything S3 would ignore
    /// (multiple ranges, other units, malformed values): S3 then serves the whole object.
    public init?(header: String) {
        let trimmed = header.trimmingSpaces()
        guard trimmed.hasPrefix("bytes=") else { return nil }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let left = spec[..<dash].trimmingSpaces()
        let right = spec[spec.index(after: dash)...].trimmingSpaces()
        switch (Int64(left), Int64(right)) {
        case (let a?, let b?) where a >= 0 && b >= a: self = .fromTo(a, b)
        case (let a?, nil) where right.isEmpty && a >= 0: self = .from(a)
        case (nil, let n?) where left.isEmpty && n >= 0: self = .suffix(n)
        default: return nil
        }
    }

    /// The satisfiable range for an object of `size` bytes, or `nil` when unsatisfiable.
    public func resolve(size: Int64) -> ByteRange? {
        switch self {
        case .fromTo(let a, let b):
            guard a < size else { return nil }
            return ByteRange(first: a, last: min(b, size - 1))
        case .from(let a):
            guard a < size else { return nil }
            return ByteRange(first: a, last: size - 1)
        case .suffix(let n):
            guard n > 0, size > 0 else { return nil }
            return ByteRange(first: max(0, size - n), last: size - 1)
        }
    }
}

extension StringProtocol where UTF8View: BidirectionalCollection {
    /// The string without leading and trailing spaces and tabs.
    @inlinable
    public func trimmingSpaces() -> String {
        // On UTF-8 bytes: this runs on every header of every signed request, and walking
        // Unicode scalars cost a fifth of a small signed GET's CPU.
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, utf8[start] == 0x20 || utf8[start] == 0x09 { utf8.formIndex(after: &start) }
        while end > start {
            let before = utf8.index(before: end)
            guard utf8[before] == 0x20 || utf8[before] == 0x09 else { break }
            end = before
        }
        // Spaces and tabs are single bytes, so these are character boundaries.
        return String(self[start..<end])
    }
}
