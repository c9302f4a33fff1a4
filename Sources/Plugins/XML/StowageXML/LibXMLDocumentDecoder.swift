public import NIOCore
public import StowageCore

/// Decodes S3 request documents (DeleteObjects, CreateBucketConfiguration) from XML.
public struct LibXMLDocumentDecoder: S3DocumentDecoder {
    public init() {}

    public func decodeDeleteObjects(_ body: ByteBuffer) throws -> DeleteObjectsRequest {
        let root = try XMLDocumentParser.parse(body)
        guard root.name == "Delete" else { throw S3Error(.malformedXML) }
        var quiet = false
        if let element = root.child("Quiet") {
            switch element.text.trimmingSpaces().lowercased() {
            case "true": quiet = true
            case "false": quiet = false
            default: throw S3Error(.malformedXML)
            }
        }
        let objects = try root.children("Object").map { object -> DeleteObjectsRequest.Entry in
            // The key is taken verbatim: surrounding whitespace is part of the key.
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error(.malformedXML) }
            let version = object.child("VersionId")?.text
            return DeleteObjectsRequest.Entry(key: key, versionID: (version?.isEmpty ?? true) ? nil : version)
        }
        return DeleteObjectsRequest(objects: objects, quiet: quiet)
    }

    public func decodeCreateBucketConfiguration(_ body: ByteBuffer) throws -> CreateBucketConfiguration {
        let root = try XMLDocumentParser.parse(body)
        guard root.name == "CreateBucketConfiguration" else { throw S3Error(.malformedXML) }
        let constraint = root.child("LocationConstraint")?.text.trimmingSpaces()
        return CreateBucketConfiguration(locationConstraint: (constraint?.isEmpty ?? true) ? nil : constraint)
    }

    public func decodeCompleteMultipartUpload(_ body: ByteBuffer) throws -> [CompletedPart] {
        let root = try XMLDocumentParser.parse(body)
        guard root.name == "CompleteMultipartUpload" else { throw S3Error(.malformedXML) }
        return try root.children("Part").map { part in
            guard let numberText = part.child("PartNumber")?.text.trimmingSpaces(), let number = Int(numberText) else {
                throw S3Error(.malformedXML)
            }
            guard (1...10_000).contains(number) else {
                throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive", name: "partNumber", value: numberText)
            }
            guard let etag = part.child("ETag")?.text.trimmingSpaces(), !etag.isEmpty else { throw S3Error(.malformedXML) }
            var checksums: [ChecksumAlgorithm: String] = [:]
            for algorithm in ChecksumAlgorithm.allCases {
                if let value = part.child(algorithm.elementName)?.text.trimmingSpaces(), !value.isEmpty { checksums[algorithm] = value }
            }
            return CompletedPart(partNumber: number, etag: etag, checksums: checksums)
        }
    }

    public func decodeCORSConfiguration(_ body: ByteBuffer) throws -> CORSConfiguration {
        let root = try XMLDocumentParser.parse(body)
        guard root.name == "CORSConfiguration" else { throw S3Error(.malformedXML) }
        return try CORSConfiguration(rules: root.children("CORSRule").map { rule in
            for child in rule.children where !Self.corsRuleElements.contains(child.name) { throw S3Error(.malformedXML) }
            var maxAge: Int?
            if let text = rule.child("MaxAgeSeconds")?.text.trimmingSpaces() {
                guard let value = Int(text) else { throw S3Error(.malformedXML) }
                maxAge = value
            }
            let id = rule.child("ID")?.text.trimmingSpaces()
            return CORSConfiguration.Rule(
                id: (id?.isEmpty ?? true) ? nil : id,
                allowedOrigins: rule.children("AllowedOrigin").map { $0.text.trimmingSpaces() },
                allowedMethods: rule.children("AllowedMethod").map { $0.text.trimmingSpaces() },
                allowedHeaders: rule.children("AllowedHeader").map { $0.text.trimmingSpaces() },
                exposeHeaders: rule.children("ExposeHeader").map { $0.text.trimmingSpaces() },
                maxAgeSeconds: maxAge
            )
        })
    }

    static let corsRuleElements: Set<String> = ["ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"]
}
