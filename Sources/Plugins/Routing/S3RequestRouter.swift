import HTTPTypes
public import StowageCore

/// The routing table: method × host × path × subresource → `S3Operation` (path-style and
/// virtual-hosted-style addressing).
/// Pure, so every row is unit-tested without a server.
public enum S3RequestRouter {
    /// Query parameters naming S3 requests this server does not implement at all.
    static let unsupportedSubresources: [String: String] = [
        "session": "CreateSession",
        "renameObject": "RenameObject",
    ]

    /// Resolves a request. With `domains`, a `Host` of `<bucket>.<domain>` is virtual-hosted
    /// style: the bucket comes from the host and the whole path is the key. Any other host
    /// (the domain itself, an IP address, an unknown name) is path-style.
    public static func operation(for request: S3Request, domains: [String] = []) throws -> S3Operation {
        if let bucket = virtualHostBucket(request.host, domains: domains) {
            let key = try splitVirtualHostPath(request.rawPath)
            return try operation(method: request.method, bucket: bucket, key: key, request: request)
        }
        let (bucket, key) = try splitPath(request.rawPath)
        return try operation(method: request.method, bucket: bucket, key: key, request: request)
    }

    /// The bucket named by a virtual-hosted-style host, or `nil` for path-style. Host names
    /// compare case-insensitively; bucket names may contain dots (`my.bucket.s3.local.test`).
    public static func virtualHostBucket(_ host: String?, domains: [String]) -> String? {
        guard let host, !domains.isEmpty, !isIPAddress(host) else { return nil }
        // Every request asks, and most are not virtual-hosted: compared in place, ASCII
        // case-insensitively (host names are ASCII), allocating only for a match.
        var name = Substring(host)
        if name.utf8.last == UInt8(ascii: ".") { name = name.dropLast() }
        for domain in domains {
            if let bucket = labelBefore(domain: domain.utf8, in: name) { return bucket.lowercased() }
        }
        return nil
    }

    /// `bucket` when `name` is `bucket.<domain>` (ASCII case-insensitively), else `nil`.
    private static func labelBefore(domain: String.UTF8View, in name: Substring) -> Substring? {
        let bytes = name.utf8
        var index = bytes.endIndex
        var domainIndex = domain.endIndex
        while domainIndex > domain.startIndex {
            guard index > bytes.startIndex else { return nil }
            bytes.formIndex(before: &index)
            domain.formIndex(before: &domainIndex)
            guard asciiLowercase(bytes[index]) == asciiLowercase(domain[domainIndex]) else { return nil }
        }
        guard index > bytes.startIndex else { return nil }
        bytes.formIndex(before: &index)
        guard bytes[index] == UInt8(ascii: "."), index > bytes.startIndex else { return nil }
        return name[name.startIndex..<index]
    }

    private static func asciiLowercase(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    /// A dotted IPv4 address (four groups of one to three digits) or a bracketed IPv6 literal.
    static func isIPAddress(_ host: String) -> Bool {
        var groups = 1
        var digits = 0
        for (offset, byte) in host.utf8.enumerated() {
            if offset == 0, byte == UInt8(ascii: "[") { return true }
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                groups += 1
                digits = 0
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits += 1
                if digits > 3 { return false }
            } else {
                return false
            }
        }
        return groups == 4 && digits > 0
    }

    /// `/key/with/slashes` under a virtual host → the decoded key, `nil` for `/`.
    static func splitVirtualHostPath(_ rawPath: String) throws -> String? {
        guard rawPath.utf8.first == UInt8(ascii: "/") else {
            throw S3Error(.invalidURI, message: "Couldn't parse the specified URI.")
        }
        let keyPart = Substring(rawPath).dropFirst()
        if keyPart.isEmpty { return nil }
        guard let key = PercentEncoding.decodePath(keyPart.utf8) else {
            throw S3Error(.invalidURI, message: "Couldn't parse the specified URI.")
        }
        return key
    }

    /// `/bucket/key/with/slashes` → ("bucket", "key/with/slashes"); both percent-decoded.
    public static func splitPath(_ rawPath: String) throws -> (bucket: String?, key: String?) {
        let path = Substring(rawPath)
        guard path.utf8.first == UInt8(ascii: "/") else {
            throw S3Error(.invalidURI, message: "Couldn't parse the specified URI.")
        }
        let rest = path.dropFirst()
        if rest.isEmpty { return (nil, nil) }
        let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/"))
        let bucketPart = slash.map { rest[rest.startIndex..<$0] } ?? rest
        guard let bucket = PercentEncoding.decodePath(bucketPart.utf8) else {
            throw S3Error(.invalidURI, message: "Couldn't parse the specified URI.")
        }
        guard let slash else { return (bucket.isEmpty ? nil : bucket, nil) }
        let keyPart = rest[rest.utf8.index(after: slash)...]
        if keyPart.isEmpty { return (bucket, nil) }
        guard let key = PercentEncoding.decodePath(keyPart.utf8) else {
            throw S3Error(.invalidURI, message: "Couldn't parse the specified URI.")
        }
        return (bucket, key)
    }

    static func operation(method: HTTPRequest.Method, bucket: String?, key: String?, request: S3Request) throws -> S3Operation {
        let query = request.query
        if method == .options {
            return .corsPreflight(bucket: bucket, key: key)
        }
        for (parameter, name) in unsupportedSubresources where query.contains(parameter) {
            return .unsupported(name: name, bucket: bucket)
        }
        guard let bucket else {
            switch method {
            case .get: return .listBuckets
            default: throw methodNotAllowed(method, resourceType: "SERVICE")
            }
        }
        guard let key else { return try bucketOperation(method: method, bucket: bucket, query: query, request: request) }
        return try objectOperation(method: method, address: ObjectAddress(bucket: bucket, key: key), query: query, request: request)
    }

    static func bucketOperation(method: HTTPRequest.Method, bucket: String, query: QueryParameters, request: S3Request) throws -> S3Operation {
        let subresource = BucketSubresource.allCases.first { query.contains($0.rawValue) }
        switch method {
        case .get:
            if query.contains("location") { return .getBucketLocation(bucket: bucket) }
            if query.contains("versions") { return .listObjectVersions(bucket: bucket) }
            if query.contains("uploads") { return .listMultipartUploads(bucket: bucket) }
            if let subresource { return .getBucketSubresource(bucket: bucket, subresource) }
            if let listType = query["list-type"] {
                guard listType == "2" else {
                    throw S3Error.invalidArgument("Invalid List Type specified in Request", name: "list-type", value: listType)
                }
                return .listObjectsV2(bucket: bucket)
            }
            return .listObjects(bucket: bucket)
        case .head:
            return .headBucket(bucket: bucket)
        case .put:
            if let subresource {
                guard subresource != .policyStatus else { throw methodNotAllowed(method, resourceType: "BUCKET") }
                return .putBucketSubresource(bucket: bucket, subresource)
            }
            return .createBucket(bucket: bucket)
        case .delete:
            if let subresource {
                switch subresource {
                case .acl, .logging, .notification, .policyStatus, .requestPayment, .versioning, .accelerate, .objectLock:
                    throw methodNotAllowed(method, resourceType: "BUCKET")
                default:
                    return .deleteBucketSubresource(bucket: bucket, subresource)
                }
            }
            return .deleteBucket(bucket: bucket)
        case .post:
            if query.contains("delete") { return .deleteObjects(bucket: bucket) }
            // Any other bucket POST is a browser upload; one that is not multipart/form-data is
            // refused as S3 refuses it (412), once authorization has run.
            return .postObject(bucket: bucket)
        default:
            throw methodNotAllowed(method, resourceType: "BUCKET")
        }
    }

    static func objectOperation(method: HTTPRequest.Method, address: ObjectAddress, query: QueryParameters, request: S3Request) throws -> S3Operation {
        let subresource = ObjectSubresource.allCases.first { query.contains($0.rawValue) }
        switch method {
        case .get:
            if let uploadID = query["uploadId"] { return .listParts(address, uploadID: try nonEmptyUploadID(uploadID)) }
            if let subresource, subresource != .restore, subresource != .select {
                return .getObjectSubresource(address, subresource)
            }
            return .getObject(address)
        case .head:
            return .headObject(address)
        case .put:
            if let uploadID = query["uploadId"] {
                let id = try nonEmptyUploadID(uploadID)
                let partNumber = try partNumber(query["partNumber"])
                if let source = request.headers[.amzCopySource] {
                    return .uploadPartCopy(address, uploadID: id, partNumber: partNumber, source: try copySource(source))
                }
                return .uploadPart(address, uploadID: id, partNumber: partNumber)
            }
            if let subresource {
                switch subresource {
                case .acl, .tagging, .legalHold, .retention: return .putObjectSubresource(address, subresource)
                default: throw methodNotAllowed(method, resourceType: "OBJECT")
                }
            }
            if let source = request.headers[.amzCopySource] {
                return .copyObject(address, source: try copySource(source))
            }
            return .putObject(address)
        case .delete:
            if let uploadID = query["uploadId"] { return .abortMultipartUpload(address, uploadID: try nonEmptyUploadID(uploadID)) }
            if subresource == .tagging { return .deleteObjectSubresource(address, .tagging) }
            return .deleteObject(address)
        case .post:
            if query.contains("uploads") { return .createMultipartUpload(address) }
            if let uploadID = query["uploadId"] { return .completeMultipartUpload(address, uploadID: try nonEmptyUploadID(uploadID)) }
            if let subresource, subresource == .restore || subresource == .select {
                return .postObjectSubresource(address, subresource)
            }
            throw methodNotAllowed(method, resourceType: "OBJECT")
        default:
            throw methodNotAllowed(method, resourceType: "OBJECT")
        }
    }

    /// Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, URL-encoded.
    public static func copySource(_ header: String) throws -> CopySource {
        let invalid = S3Error.invalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", name: "x-amz-copy-source", value: header
        )
        var value = Substring(header.trimmingSpaces())
        var versionID: String?
        if let question = value.firstIndex(of: "?") {
            let query = QueryParameters(raw: String(value[value.index(after: question)...]))
            versionID = query["versionId"]
            value = value[..<question]
        }
        if value.hasPrefix("/") { value = value.dropFirst() }
        guard let slash = value.firstIndex(of: "/") else { throw invalid }
        guard let bucket = PercentEncoding.decodePath(value[..<slash].utf8),
            let key = PercentEncoding.decodePath(value[value.index(after: slash)...].utf8),
            !bucket.isEmpty, !key.isEmpty
        else { throw invalid }
        return CopySource(address: ObjectAddress(bucket: bucket, key: key), versionID: versionID)
    }

    static func partNumber(_ value: String?) throws -> Int {
        guard let value, let number = Int(value), (1...10_000).contains(number) else {
            throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive", name: "partNumber", value: value)
        }
        return number
    }

    static func nonEmptyUploadID(_ value: String) throws -> String {
        guard !value.isEmpty else { throw S3Error(.noSuchUpload) }
        return value
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method, resourceType: String) -> S3Error {
        S3Error(.methodNotAllowed).with("Method", method.rawValue).with("ResourceType", resourceType)
    }
}
