import HTTPTypes
import NIOCore

/// PutObject, CopyObject, DeleteObject, DeleteObjects.
extension S3Dispatcher {
    /// Largest DeleteObjects body read: what 1,000 keys of 1,024 bytes need when every byte is
    /// written as a character reference (`&#x1F;`), with a version id each and the markup.
    static let maxDeleteObjectsBody = maxDeleteObjectsKeys * (ObjectKeys.maxLength * 6 + 512) + 4096
    static let maxDeleteObjectsKeys = 1000
    /// S3 refuses CopyObject above 5 GiB; bigger copies go through UploadPartCopy.
    static let maxCopySize: Int64 = S3Limits.maxUploadSize

    func putObject(_ address: ObjectAddress, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        let payload = try request.verifiedPayload()
        let length = try payloadLength(payload, request)
        let options = PutObjectOptions(
            metadata: try RequestHeaders.metadata(from: request.headers, limit: limits.maxMetadataSize),
            owner: context.identity,
            contentMD5: try RequestHeaders.contentMD5(request.headers),
            expectedSize: length,
            maxSize: limits.maxObjectSize,
            conditions: try RequestHeaders.writeConditions(request.headers),
            checksum: payload.checksum
        )
        let info = try await backend.putObject(address, body: request.body, options: options)
        var headers = HTTPFields()
        headers[.eTag] = info.quotedETag
        ResponseHeaders.checksum(info.checksum, into: &headers)
        return S3Response(status: .ok, headers: headers)
    }

    /// The decoded payload length; `EntityTooLarge` past the limit. A body sent in HTTP's chunked
    /// transfer coding (`curl -T -`, streaming clients) has none: it is `nil`, and the backend
    /// bounds the body by the limit as it streams. Any other body must declare its length.
    func payloadLength(_ payload: RequestPayload, _ request: S3Request, limit: Int64? = nil) throws -> Int64? {
        guard let length = payload.length else {
            _ = try RequestHeaders.contentLength(request.headers)
            if RequestHeaders.isChunkedTransfer(request.headers) { return nil }
            throw S3Error(.missingContentLength)
        }
        let limit = limit ?? limits.maxObjectSize
        guard length <= limit else {
            throw S3Error(.entityTooLarge).with("ProposedSize", "\(length)").with("MaxSizeAllowed", "\(limit)")
        }
        return length
    }

    func copyObject(_ address: ObjectAddress, source: CopySource, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        try ObjectKeys.validate(source.address.key)
        if let versionID = source.versionID, versionID != "null" {
            throw S3Error.invalidArgument("Invalid version id specified", name: "x-amz-copy-source", value: versionID)
        }
        let directiveValue = request.headers[.amzMetadataDirective]?.trimmingSpaces().uppercased() ?? "COPY"
        guard let directive = CopyObjectOptions.MetadataDirective(rawValue: directiveValue) else {
            throw S3Error.invalidArgument("Unknown metadata directive.", name: "x-amz-metadata-directive", value: directiveValue)
        }
        if source.address == address, directive == .copy, request.headers[.amzStorageClass] == nil,
            request.headers[.amzWebsiteRedirectLocation] == nil {
            throw S3Error(
                .invalidRequest,
                message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            )
        }
        let options = CopyObjectOptions(
            metadataDirective: directive,
            metadata: directive == .replace
                ? try RequestHeaders.metadata(from: request.headers, limit: limits.maxMetadataSize)
                : ObjectMetadata(cannedACL: try CannedACL(header: request.headers[.amzACL])),
            owner: context.identity,
            sourceConditions: RequestHeaders.readConditions(request.headers, copySource: true),
            destinationConditions: try RequestHeaders.writeConditions(request.headers),
            maxSize: min(limits.maxObjectSize, Self.maxCopySize)
        )
        let info = try await backend.copyObject(from: source.address, to: address, options: options)
        return .document(.copyObject(CopyObjectResult(etag: info.etag, lastModified: info.lastModified)))
    }

    func deleteObject(_ address: ObjectAddress, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        try Self.rejectVersionID(request)
        var conditions = WriteConditions()
        if let value = request.headers[.ifMatch] { conditions.ifMatch = ETagMatching.list(value) }
        try await backend.deleteObject(address, conditions: conditions)
        return S3Response(status: .noContent)
    }

    func deleteObjects(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let hasChecksum = request.headers[.contentMD5] != nil
            || request.headers.contains { $0.name.canonicalName.hasPrefix("x-amz-checksum-") || $0.name.canonicalName == "x-amz-sdk-checksum-algorithm" }
        guard hasChecksum else {
            throw S3Error(.invalidRequest, message: "Missing required header for this request: Content-MD5")
        }
        let expectedMD5 = try RequestHeaders.contentMD5(request.headers)
        // The checksum (header or trailer) is verified as the body ends, inside `collect`.
        let body = try await request.collectDocument(upTo: Self.maxDeleteObjectsBody)
        if let expectedMD5, MD5.hash(body.readableBytesView) != expectedMD5 {
            throw S3Error(.badDigest)
        }
        let document = try context.requireDocuments().decodeDeleteObjects(body)
        guard (1...Self.maxDeleteObjectsKeys).contains(document.objects.count) else {
            throw S3Error(.malformedXML)
        }
        _ = try await backend.bucket(bucket)

        var deleted: [DeleteResult.Deleted] = []
        var errors: [DeleteResult.Failure] = []
        var pending: [DeleteObjectsRequest.Entry] = []
        for entry in document.objects {
            do {
                try ObjectKeys.validate(entry.key)
                if let versionID = entry.versionID, versionID != "null" {
                    throw S3Error(.noSuchVersion)
                }
                if let authorize = context.keyAuthorizer, let denied = await authorize(entry.key) {
                    throw denied
                }
                pending.append(entry)
            } catch let error as S3Error {
                errors.append(DeleteResult.Failure(key: entry.key, versionID: entry.versionID, code: error.code.name, message: error.message))
            }
        }
        let results = try await backend.deleteObjects(bucket: bucket, keys: pending.map(\.key))
        for (entry, result) in zip(pending, results) {
            switch result {
            case .success:
                if !document.quiet { deleted.append(DeleteResult.Deleted(key: entry.key, versionID: entry.versionID)) }
            case .failure(let error):
                errors.append(DeleteResult.Failure(key: entry.key, versionID: entry.versionID, code: error.code.name, message: error.message))
            }
        }
        return .document(.deleteResult(DeleteResult(deleted: deleted, errors: errors)))
    }
}
