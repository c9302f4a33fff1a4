import HTTPTypes

/// GetObject and HeadObject.
extension S3Dispatcher {
    /// Query parameters that override response headers on GET/HEAD.
    private static let responseOverrides: [(query: String, header: HTTPField.Name)] = [
        ("response-content-type", .contentType),
        ("response-content-language", .contentLanguage),
        ("response-expires", .expires),
        ("response-cache-control", .cacheControl),
        ("response-content-disposition", .contentDisposition),
        ("response-content-encoding", .contentEncoding),
    ]

    func getObject(_ address: ObjectAddress, _ request: S3Request, _ context: S3Context, includeBody: Bool) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        try Self.rejectVersionID(request)
        var checksumMode = false
        if let mode = request.headers[Self.checksumMode] {
            guard mode.trimmingSpaces().uppercased() == "ENABLED" else {
                throw S3Error(.invalidRequest, message: "Value for x-amz-checksum-mode header is invalid.")
            }
            checksumMode = true
        }
        var options = GetObjectOptions()
        options.conditions = RequestHeaders.readConditions(request.headers)
        if let header = request.headers[.range] { options.range = RangeRequest(header: header) }
        if let value = request.query["partNumber"] {
            guard let number = Int(value), (1...10_000).contains(number) else {
                throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive", name: "partNumber", value: value)
            }
            guard request.headers[.range] == nil else {
                throw S3Error(.invalidRequest, message: "Cannot specify both Range header and partNumber query parameter")
            }
            options.partNumber = number
        }

        let result = includeBody
            ? try await backend.getObject(address, options: options)
            : try await backend.headObject(address, options: options)

        var headers = HTTPFields()
        ResponseHeaders.object(result.info, into: &headers)
        for override in Self.responseOverrides {
            if let value = request.query[override.query] { headers[override.header] = value }
        }
        var status = HTTPResponse.Status.ok
        let length: Int64
        if let range = result.range {
            status = .partialContent
            headers[.contentRange] = "bytes \(range.first)-\(range.last)/\(result.info.size)"
            length = range.count
        } else {
            length = result.info.size
        }
        headers[.contentLength] = "\(length)"
        // S3 reports the part count only to partNumber reads.
        if options.partNumber != nil, result.info.partCount > 0 { headers[.amzMPPartsCount] = "\(result.info.partCount)" }
        if checksumMode {
            ResponseHeaders.checksum(Self.servedChecksum(result, partNumber: options.partNumber), into: &headers)
        }

        let body: S3ResponseBody
        switch result.content {
        case .none: body = .empty
        case .file(let region): body = .file(region)
        case .stream(let stream, let streamLength): body = .stream(stream, length: streamLength)
        case .bytes(let bytes): body = .bytes(bytes)
        }
        return S3Response(status: status, headers: headers, body: includeBody ? body : .empty)
    }

    static let checksumMode = HTTPField.Name("x-amz-checksum-mode")!

    /// The checksum that describes exactly the bytes served: the object's for a whole read, a
    /// part's for `partNumber` reads of composite multipart objects, none for ranges.
    static func servedChecksum(_ result: ObjectReadResult, partNumber: Int?) -> ObjectChecksum? {
        if partNumber != nil { return result.partChecksum }
        guard let range = result.range else { return result.info.checksum }
        // A range covering the whole object still describes the whole object.
        return range.first == 0 && range.count == result.info.size ? result.info.checksum : nil
    }

    /// Buckets here are unversioned: `versionId=null` names the current object, any other
    /// version id cannot exist.
    static func rejectVersionID(_ request: S3Request) throws {
        if let versionID = request.query["versionId"], versionID != "null" {
            throw S3Error.invalidArgument("Invalid version id specified", name: "versionId", value: versionID)
        }
    }
}
