public import NIOCore
public import StowageCore

/// Renders every typed S3 result, and S3 error documents, with libxml2's writer.
public enum S3DocumentRenderer {
    public static func render(_ result: S3Result) -> ByteBuffer {
        let xml = XMLWriter()
        switch result {
        case .listAllMyBuckets(let r): write(r, xml)
        case .listBucket(let r): write(r, xml)
        case .listBucketV2(let r): write(r, xml)
        case .locationConstraint(let r): write(r, xml)
        case .copyObject(let r): write(r, xml)
        case .deleteResult(let r): write(r, xml)
        case .initiateMultipartUpload(let r): write(r, xml)
        case .completeMultipartUpload(let r): write(r, xml)
        case .copyPart(let r): write(r, xml)
        case .listParts(let r): write(r, xml)
        case .listMultipartUploads(let r): write(r, xml)
        case .accessControlPolicy(let r): write(r, xml)
        case .policyStatus(let r): write(r, xml)
        case .corsConfiguration(let r): write(r, xml)
        case .objectAttributes(let r): write(r, xml)
        case .postResponse(let r): write(r, xml)
        case .error(let error, let requestID): write(error, requestID: requestID, xml)
        }
        return xml.finish()
    }

    /// S3's `<Error>` document.
    public static func renderError(_ error: S3Error, requestID: String) -> ByteBuffer {
        render(.error(error, requestID: requestID))
    }

    static func write(_ error: S3Error, requestID: String, _ xml: XMLWriter) {
        xml.element("Error") {
            xml.element("Code", error.code.name)
            xml.element("Message", error.message)
            for field in error.fields { xml.element(field.name, field.value) }
            xml.element("Resource", ifPresent: error.resource)
            xml.element("RequestId", requestID)
            xml.element("HostId", requestID)
        }
    }

    static let xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

    static func write(_ r: AccessControlPolicy, _ xml: XMLWriter) {
        xml.element("AccessControlPolicy", namespace: XMLWriter.s3Namespace) {
            writeOwner(r.owner, xml)
            xml.element("AccessControlList") {
                for grant in r.grants {
                    xml.element("Grant") {
                        xml.start("Grantee")
                        xml.attribute("xmlns:xsi", xsiNamespace)
                        switch grant.grantee {
                        case .user(let owner):
                            xml.attribute("xsi:type", "CanonicalUser")
                            xml.element("ID", owner.id)
                            xml.element("DisplayName", owner.displayName)
                        case .group(let uri):
                            xml.attribute("xsi:type", "Group")
                            xml.element("URI", uri)
                        }
                        xml.end()
                        xml.element("Permission", grant.permission.rawValue)
                    }
                }
            }
        }
    }

    static func write(_ r: PolicyStatusResult, _ xml: XMLWriter) {
        xml.element("PolicyStatus", namespace: XMLWriter.s3Namespace) {
            xml.element("IsPublic", r.isPublic ? "true" : "false")
        }
    }

    static func write(_ r: CORSConfiguration, _ xml: XMLWriter) {
        xml.element("CORSConfiguration", namespace: XMLWriter.s3Namespace) {
            for rule in r.rules {
                xml.element("CORSRule") {
                    xml.element("ID", ifPresent: rule.id)
                    for header in rule.allowedHeaders { xml.element("AllowedHeader", header) }
                    for method in rule.allowedMethods { xml.element("AllowedMethod", method) }
                    for origin in rule.allowedOrigins { xml.element("AllowedOrigin", origin) }
                    for header in rule.exposeHeaders { xml.element("ExposeHeader", header) }
                    xml.element("MaxAgeSeconds", ifPresent: rule.maxAgeSeconds.map { "\($0)" })
                }
            }
        }
    }

    static func write(_ r: ListAllMyBucketsResult, _ xml: XMLWriter) {
        xml.element("ListAllMyBucketsResult", namespace: XMLWriter.s3Namespace) {
            writeOwner(r.owner, xml)
            xml.element("Buckets") {
                for bucket in r.buckets {
                    xml.element("Bucket") {
                        xml.element("Name", bucket.name)
                        xml.element("CreationDate", bucket.creationDate.iso8601)
                        xml.element("BucketRegion", bucket.region)
                    }
                }
            }
            xml.element("ContinuationToken", ifPresent: r.continuationToken)
            xml.element("Prefix", ifPresent: r.prefix)
        }
    }

    static func write(_ r: ListBucketResult, _ xml: XMLWriter) {
        xml.element("ListBucketResult", namespace: XMLWriter.s3Namespace) {
            xml.element("Name", r.name)
            xml.element("Prefix", r.prefix)
            xml.element("Marker", r.marker)
            xml.element("NextMarker", ifPresent: r.nextMarker)
            xml.element("MaxKeys", "\(r.maxKeys)")
            xml.element("Delimiter", ifPresent: r.delimiter)
            xml.element("IsTruncated", r.isTruncated ? "true" : "false")
            xml.element("EncodingType", ifPresent: r.encodingType)
            for object in r.contents { writeContents(object, xml) }
            for prefix in r.commonPrefixes { xml.element("CommonPrefixes") { xml.element("Prefix", prefix) } }
        }
    }

    static func write(_ r: ListBucketV2Result, _ xml: XMLWriter) {
        xml.element("ListBucketResult", namespace: XMLWriter.s3Namespace) {
            xml.element("Name", r.name)
            xml.element("Prefix", r.prefix)
            xml.element("Delimiter", ifPresent: r.delimiter)
            xml.element("MaxKeys", "\(r.maxKeys)")
            xml.element("KeyCount", "\(r.keyCount)")
            xml.element("IsTruncated", r.isTruncated ? "true" : "false")
            xml.element("EncodingType", ifPresent: r.encodingType)
            xml.element("ContinuationToken", ifPresent: r.continuationToken)
            xml.element("NextContinuationToken", ifPresent: r.nextContinuationToken)
            xml.element("StartAfter", ifPresent: r.startAfter)
            for object in r.contents { writeContents(object, xml) }
            for prefix in r.commonPrefixes { xml.element("CommonPrefixes") { xml.element("Prefix", prefix) } }
        }
    }

    static func writeContents(_ object: ListedObject, _ xml: XMLWriter) {
        xml.element("Contents") {
            xml.element("Key", object.key)
            xml.element("LastModified", object.lastModified.iso8601)
            xml.element("ETag", object.etag)
            xml.element("Size", "\(object.size)")
            if let owner = object.owner { writeOwner(owner, xml) }
            xml.element("StorageClass", object.storageClass)
        }
    }

    static func writeOwner(_ owner: S3Owner, _ xml: XMLWriter) {
        xml.element("Owner") {
            xml.element("ID", owner.id)
            xml.element("DisplayName", owner.displayName)
        }
    }

    static func write(_ r: LocationConstraintResult, _ xml: XMLWriter) {
        xml.start("LocationConstraint", namespace: XMLWriter.s3Namespace)
        if let region = r.region { xml.text(region) }
        xml.end()
    }

    static func write(_ r: CopyObjectResult, _ xml: XMLWriter) {
        xml.element("CopyObjectResult", namespace: XMLWriter.s3Namespace) {
            xml.element("LastModified", r.lastModified.iso8601)
            xml.element("ETag", "\"\(r.etag)\"")
        }
    }

    static func write(_ r: DeleteResult, _ xml: XMLWriter) {
        xml.element("DeleteResult", namespace: XMLWriter.s3Namespace) {
            for deleted in r.deleted {
                xml.element("Deleted") {
                    xml.element("Key", deleted.key)
                    xml.element("VersionId", ifPresent: deleted.versionID)
                }
            }
            for failure in r.errors {
                xml.element("Error") {
                    xml.element("Key", failure.key)
                    xml.element("VersionId", ifPresent: failure.versionID)
                    xml.element("Code", failure.code)
                    xml.element("Message", failure.message)
                }
            }
        }
    }

    static func write(_ r: InitiateMultipartUploadResult, _ xml: XMLWriter) {
        xml.element("InitiateMultipartUploadResult", namespace: XMLWriter.s3Namespace) {
            xml.element("Bucket", r.bucket)
            xml.element("Key", r.key)
            xml.element("UploadId", r.uploadID)
        }
    }

    static func write(_ r: CompleteMultipartUploadResult, _ xml: XMLWriter) {
        xml.element("CompleteMultipartUploadResult", namespace: XMLWriter.s3Namespace) {
            xml.element("Location", r.location)
            xml.element("Bucket", r.bucket)
            xml.element("Key", r.key)
            xml.element("ETag", r.etag)
            if let checksum = r.checksum {
                xml.element(checksum.algorithm.elementName, checksum.encoded)
                xml.element("ChecksumType", checksum.type.rawValue)
            }
        }
    }

    static func write(_ r: CopyPartResult, _ xml: XMLWriter) {
        xml.element("CopyPartResult", namespace: XMLWriter.s3Namespace) {
            xml.element("LastModified", r.lastModified.iso8601)
            xml.element("ETag", r.etag)
            if let (algorithm, value) = r.checksum { xml.element(algorithm.elementName, Base64.encode(value)) }
        }
    }

    static func write(_ r: ListPartsResult, _ xml: XMLWriter) {
        xml.element("ListPartsResult", namespace: XMLWriter.s3Namespace) {
            xml.element("Bucket", r.bucket)
            xml.element("Key", r.key)
            xml.element("UploadId", r.uploadID)
            xml.element("PartNumberMarker", "\(r.partNumberMarker)")
            xml.element("NextPartNumberMarker", ifPresent: r.nextPartNumberMarker.map { "\($0)" })
            xml.element("MaxParts", "\(r.maxParts)")
            xml.element("IsTruncated", r.isTruncated ? "true" : "false")
            for part in r.parts {
                xml.element("Part") {
                    xml.element("PartNumber", "\(part.partNumber)")
                    xml.element("LastModified", part.lastModified.iso8601)
                    xml.element("ETag", "\"\(part.etag)\"")
                    xml.element("Size", "\(part.size)")
                    if let (algorithm, value) = part.checksum { xml.element(algorithm.elementName, Base64.encode(value)) }
                }
            }
            xml.element("Initiator") {
                xml.element("ID", r.owner.id)
                xml.element("DisplayName", r.owner.displayName)
            }
            writeOwner(r.owner, xml)
            xml.element("StorageClass", r.storageClass)
            xml.element("ChecksumAlgorithm", ifPresent: r.checksumAlgorithm?.rawValue)
            xml.element("ChecksumType", ifPresent: r.checksumType?.rawValue)
        }
    }

    static func write(_ r: ListMultipartUploadsResult, _ xml: XMLWriter) {
        xml.element("ListMultipartUploadsResult", namespace: XMLWriter.s3Namespace) {
            xml.element("Bucket", r.bucket)
            xml.element("KeyMarker", r.keyMarker)
            xml.element("UploadIdMarker", r.uploadIDMarker)
            xml.element("NextKeyMarker", ifPresent: r.nextKeyMarker)
            xml.element("NextUploadIdMarker", ifPresent: r.nextUploadIDMarker)
            xml.element("Prefix", r.prefix)
            xml.element("Delimiter", ifPresent: r.delimiter)
            xml.element("MaxUploads", "\(r.maxUploads)")
            xml.element("IsTruncated", r.isTruncated ? "true" : "false")
            xml.element("EncodingType", ifPresent: r.encodingType)
            for upload in r.uploads {
                xml.element("Upload") {
                    xml.element("Key", upload.key)
                    xml.element("UploadId", upload.uploadID)
                    xml.element("Initiator") {
                        xml.element("ID", upload.owner.id)
                        xml.element("DisplayName", upload.owner.displayName)
                    }
                    writeOwner(upload.owner, xml)
                    xml.element("StorageClass", upload.storageClass)
                    xml.element("Initiated", upload.initiated.iso8601)
                    xml.element("ChecksumAlgorithm", ifPresent: upload.checksumAlgorithm?.rawValue)
                    xml.element("ChecksumType", ifPresent: upload.checksumType?.rawValue)
                }
            }
            for prefix in r.commonPrefixes { xml.element("CommonPrefixes") { xml.element("Prefix", prefix) } }
        }
    }
}
