import HTTPTypes
import NIOCore

/// CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
/// AbortMultipartUpload, ListParts, ListMultipartUploads.
extension S3Dispatcher {
    /// S3's part limits: 5 MiB minimum for all but the last part (checked at completion), 5 GiB maximum.
    static let minimumPartSize: Int64 = 5 * 1024 * 1024
    static let maximumPartSize: Int64 = S3Limits.maxUploadSize
    /// 10,000 parts with checksums fit in well under 4 MiB of XML.
    static let maxCompleteBody = 4 * 1024 * 1024
    static let checksumAlgorithmHeader = HTTPField.Name("x-amz-checksum-algorithm")!
    static let checksumTypeHeader = HTTPField.Name("x-amz-checksum-type")!
    static let copySourceRange = HTTPField.Name("x-amz-copy-source-range")!
    static let objectSizeHeader = HTTPField.Name("x-amz-mp-object-size")!

    func createMultipartUpload(_ address: ObjectAddress, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        let (algorithm, type) = try Self.multipartChecksum(request.headers)
        let options = MultipartUploadOptions(
            metadata: try RequestHeaders.metadata(from: request.headers, limit: limits.maxMetadataSize),
            owner: context.identity,
            storageClass: request.headers[.amzStorageClass] ?? "STANDARD",
            checksumAlgorithm: algorithm,
            checksumType: type
        )
        let upload = try await backend.createMultipartUpload(address, options: options)
        var headers = HTTPFields()
        if let algorithm = upload.checksumAlgorithm { headers[Self.checksumAlgorithmHeader] = algorithm.rawValue }
        if let type = upload.checksumType { headers[Self.checksumTypeHeader] = type.rawValue }
        return .document(.initiateMultipartUpload(InitiateMultipartUploadResult(bucket: address.bucket, key: address.key, uploadID: upload.uploadID)), headers: headers)
    }

    /// `x-amz-checksum-algorithm` and `x-amz-checksum-type` of CreateMultipartUpload, with S3's
    /// rules: CRC64NVME is full-object only, SHA1/SHA256 composite only, CRC32/CRC32C either;
    /// the default type is FULL_OBJECT for CRC64NVME and COMPOSITE otherwise.
    static func multipartChecksum(_ headers: HTTPFields) throws -> (ChecksumAlgorithm?, ChecksumType?) {
        var algorithm: ChecksumAlgorithm?
        if let name = headers[checksumAlgorithmHeader] {
            guard let parsed = ChecksumAlgorithm(name: name.trimmingSpaces()) else {
                throw S3Error(.invalidRequest, message: "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
            }
            algorithm = parsed
        }
        var type: ChecksumType?
        if let name = headers[checksumTypeHeader] {
            guard let parsed = ChecksumType(rawValue: name.trimmingSpaces().uppercased()) else {
                throw S3Error(.invalidRequest, message: "Value for x-amz-checksum-type header is invalid.")
            }
            guard algorithm != nil else {
                throw S3Error(.invalidRequest, message: "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
            }
            type = parsed
        }
        guard let algorithm else { return (nil, nil) }
        let resolved = type ?? (algorithm == .crc64nvme ? .fullObject : .composite)
        switch (algorithm, resolved) {
        case (.crc64nvme, .composite):
            throw S3Error(.invalidRequest, message: "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
        case (.sha1, .fullObject), (.sha256, .fullObject):
            throw S3Error(.invalidRequest, message: "The FULL_OBJECT checksum type cannot be used with the \(algorithm.rawValue.lowercased()) checksum algorithm.")
        default:
            return (algorithm, resolved)
        }
    }

    func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        let payload = try request.verifiedPayload()
        let length = try payloadLength(payload, request, limit: min(limits.maxObjectSize, Self.maximumPartSize))
        let part = try await backend.uploadPart(
            address, uploadID: uploadID, partNumber: partNumber, body: request.body,
            options: PartOptions(contentMD5: try RequestHeaders.contentMD5(request.headers), expectedSize: length,
                                 maxSize: min(limits.maxObjectSize, Self.maximumPartSize), checksum: payload.checksum)
        )
        var headers = HTTPFields()
        headers[.eTag] = "\"\(part.etag)\""
        if let (algorithm, value) = part.checksum {
            headers[HTTPField.Name(algorithm.headerName)!] = Base64.encode(value)
        }
        return S3Response(status: .ok, headers: headers)
    }

    func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: CopySource, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        try ObjectKeys.validate(source.address.key)
        if let versionID = source.versionID, versionID != "null" {
            throw S3Error.invalidArgument("Invalid version id specified", name: "x-amz-copy-source", value: versionID)
        }
        var range: ByteRange?
        if let value = request.headers[Self.copySourceRange] {
            guard case .fromTo(let first, let last)? = RangeRequest(header: value) else {
                throw S3Error.invalidArgument(
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                    name: "x-amz-copy-source-range", value: value)
            }
            range = ByteRange(first: first, last: last)
        }
        let part = try await backend.uploadPartCopy(
            address, uploadID: uploadID, partNumber: partNumber, source: source.address,
            options: PartCopyOptions(range: range, sourceConditions: RequestHeaders.readConditions(request.headers, copySource: true),
                                     maxSize: min(limits.maxObjectSize, Self.maximumPartSize))
        )
        return .document(.copyPart(CopyPartResult(etag: "\"\(part.etag)\"", lastModified: part.lastModified, checksum: part.checksum)))
    }

    func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        // Here x-amz-checksum-* describe the assembled object, not this XML body (the pipeline
        // knows: see `PayloadIntegrity.verify`).
        let body = try await request.collectDocument(upTo: Self.maxCompleteBody)
        let parts = try context.requireDocuments().decodeCompleteMultipartUpload(body)
        var options = CompleteMultipartOptions(conditions: try RequestHeaders.writeConditions(request.headers), maxSize: limits.maxObjectSize)
        let sent = PayloadIntegrity.checksumHeaders.filter { request.headers[$0.1] != nil }
        guard sent.count <= 1 else {
            throw S3Error(.invalidRequest, message: "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        }
        if let (algorithm, name) = sent.first { options.expectedChecksum = (algorithm, request.headers[name]!.trimmingSpaces()) }
        if let value = request.headers[Self.checksumTypeHeader] {
            guard let type = ChecksumType(rawValue: value.trimmingSpaces().uppercased()) else {
                throw S3Error(.invalidRequest, message: "Value for x-amz-checksum-type header is invalid.")
            }
            options.expectedChecksumType = type
        }
        if let value = request.headers[Self.objectSizeHeader] {
            guard let size = Int64(value.trimmingSpaces()), size >= 0 else {
                throw S3Error(.invalidRequest, message: "Value for x-amz-mp-object-size header is invalid.")
            }
            options.expectedSize = size
        }
        let info = try await backend.completeMultipartUpload(address, uploadID: uploadID, parts: parts, options: options)
        let location = (request.authority.map { "http://\($0)" } ?? "") + "/\(address.bucket)/" + PercentEncoding.encodeURLComponentKeepingSlash(address.key)
        var headers = HTTPFields()
        ResponseHeaders.checksum(info.checksum, into: &headers)
        return .document(.completeMultipartUpload(CompleteMultipartUploadResult(
            location: location, bucket: address.bucket, key: address.key, etag: info.quotedETag, checksum: info.checksum
        )), headers: headers)
    }

    func abortMultipartUpload(_ address: ObjectAddress, uploadID: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        try await backend.abortMultipartUpload(address, uploadID: uploadID)
        return S3Response(status: .noContent)
    }

    func listParts(_ address: ObjectAddress, uploadID: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        let marker = try Self.integerParameter(request.query, "part-number-marker", range: 0...10_000, default: 0)
        let maxParts = try Self.integerParameter(request.query, "max-parts", range: 0...Int.max, default: 1000)
        let page = try await backend.listParts(address, uploadID: uploadID, query: ListPartsQuery(partNumberMarker: marker, maxParts: min(maxParts, 1000)))
        let result = ListPartsResult(
            bucket: address.bucket, key: address.key, uploadID: uploadID, owner: owner(id: page.upload.ownerID, context),
            storageClass: page.upload.storageClass, partNumberMarker: marker, nextPartNumberMarker: page.nextPartNumberMarker,
            maxParts: min(maxParts, 1000), isTruncated: page.isTruncated, parts: page.parts,
            checksumAlgorithm: page.upload.checksumAlgorithm, checksumType: page.upload.checksumType
        )
        return .document(.listParts(result))
    }

    func listMultipartUploads(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let query = request.query
        let encodeURL = try Self.urlEncoding(query)
        let encode = Self.keyEncoder(url: encodeURL)
        let maxUploads = try Self.integerParameter(query, "max-uploads", range: 0...Int.max, default: 1000)
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let keyMarker = query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let uploadIDMarker = keyMarker == nil ? nil : query["upload-id-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let page = try await backend.listMultipartUploads(bucket: bucket, query: ListUploadsQuery(
            prefix: prefix, delimiter: delimiter, keyMarker: keyMarker, uploadIDMarker: uploadIDMarker, maxUploads: min(maxUploads, 1000)
        ))
        let uploads = page.uploads.map { upload in
            ListMultipartUploadsResult.Upload(
                key: encode(upload.key), uploadID: upload.uploadID, initiated: upload.initiated, owner: owner(id: upload.ownerID, context),
                storageClass: upload.storageClass, checksumAlgorithm: upload.checksumAlgorithm, checksumType: upload.checksumType
            )
        }
        let result = ListMultipartUploadsResult(
            bucket: bucket, keyMarker: encode(keyMarker ?? ""), uploadIDMarker: uploadIDMarker ?? "",
            nextKeyMarker: page.nextKeyMarker.map(encode), nextUploadIDMarker: page.nextUploadIDMarker,
            prefix: encode(prefix), delimiter: delimiter.map(encode), maxUploads: min(maxUploads, 1000), isTruncated: page.isTruncated,
            uploads: uploads, commonPrefixes: page.commonPrefixes.map(encode), encodingType: encodeURL ? "url" : nil
        )
        return .document(.listMultipartUploads(result))
    }

    func owner(id: String?, _ context: S3Context) -> S3Owner {
        let id = id ?? context.identity.canonicalUserID
        return S3Owner(id: id, displayName: id == context.identity.canonicalUserID ? context.identity.displayName : id)
    }

    static func integerParameter(_ query: QueryParameters, _ name: String, range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let value = query[name] else { return fallback }
        guard let parsed = Int(value), range.contains(parsed) else {
            throw S3Error.invalidArgument("Provided \(name) not an integer or within integer range", name: name, value: value)
        }
        return parsed
    }
}
