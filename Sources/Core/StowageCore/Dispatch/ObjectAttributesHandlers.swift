import HTTPTypes

/// GetObjectAttributes: a HEAD that answers in XML with the attributes asked for.
extension S3Dispatcher {
    static let objectAttributesHeader = HTTPField.Name("x-amz-object-attributes")!
    static let maxPartsHeader = HTTPField.Name("x-amz-max-parts")!
    static let partNumberMarkerHeader = HTTPField.Name("x-amz-part-number-marker")!
    static let maxListedParts = 1000

    func getObjectAttributes(_ address: ObjectAddress, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try ObjectKeys.validate(address.key)
        try Self.rejectVersionID(request)
        let wanted = try Self.requestedAttributes(request.headers)
        let maxParts = try Self.headerInteger(request.headers, Self.maxPartsHeader, default: Self.maxListedParts)
        let marker = try Self.headerInteger(request.headers, Self.partNumberMarkerHeader, default: 0)

        let read = try await backend.headObject(address, options: GetObjectOptions(conditions: RequestHeaders.readConditions(request.headers)))
        let info = read.info
        var result = GetObjectAttributesResult()
        if wanted.contains(.etag) { result.etag = info.etag }
        if wanted.contains(.checksum) { result.checksum = info.checksum }
        if wanted.contains(.objectParts), info.partCount > 0 {
            result.objectParts = Self.objectParts(read, marker: marker, maxParts: min(maxParts, Self.maxListedParts))
        }
        if wanted.contains(.storageClass) { result.storageClass = info.storageClass }
        if wanted.contains(.objectSize) { result.objectSize = info.size }
        var headers = HTTPFields()
        headers[.lastModified] = HTTPDates.format(info.lastModified)
        return .document(.objectAttributes(result), headers: headers)
    }

    /// The parts count, and the parts themselves paged like ListParts when they carry COMPOSITE
    /// checksums (S3 lists parts only then).
    static func objectParts(_ read: ObjectReadResult, marker: Int, maxParts: Int) -> GetObjectAttributesResult.Parts {
        var parts = GetObjectAttributesResult.Parts(partsCount: read.info.partCount)
        guard let checksum = read.info.checksum, checksum.type == .composite, !read.parts.isEmpty,
              read.parts.allSatisfy({ $0.checksum != nil }) else { return parts }
        let remaining = read.parts.filter { $0.partNumber > marker }
        let page = Array(remaining.prefix(maxParts))
        let truncated = remaining.count > page.count
        parts.listing = .init(partNumberMarker: marker, nextPartNumberMarker: page.last?.partNumber ?? (truncated ? marker : nil),
                              maxParts: maxParts, isTruncated: truncated, algorithm: checksum.algorithm, parts: page)
        return parts
    }

    /// `x-amz-object-attributes`: a comma-separated list of attribute names, at least one.
    static func requestedAttributes(_ headers: HTTPFields) throws -> Set<ObjectAttribute> {
        let names = headers[values: objectAttributesHeader]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpaces() }
            .filter { !$0.isEmpty }
        guard !names.isEmpty else {
            throw S3Error(.invalidRequest, message: "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
        }
        var wanted: Set<ObjectAttribute> = []
        for name in names {
            guard let attribute = ObjectAttribute(rawValue: name) else {
                throw S3Error(.invalidArgument, message: "Invalid attribute name specified.")
                    .with("ArgumentName", "x-amz-object-attributes").with("ArgumentValue", name)
            }
            wanted.insert(attribute)
        }
        return wanted
    }

    static func headerInteger(_ headers: HTTPFields, _ name: HTTPField.Name, default fallback: Int) throws -> Int {
        guard let value = headers[name] else { return fallback }
        guard let parsed = Int(value.trimmingSpaces()), parsed >= 0 else {
            throw S3Error.invalidArgument("Provided \(name.canonicalName) not an integer or within integer range", name: name.canonicalName, value: value)
        }
        return parsed
    }
}
