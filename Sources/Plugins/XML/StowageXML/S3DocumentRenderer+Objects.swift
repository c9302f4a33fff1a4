import StowageCore

/// Object documents that are not listings: GetObjectAttributes, PostObject's answer.
extension S3DocumentRenderer {
    /// S3 sends this document without a namespace.
    static func write(_ r: PostResponseResult, _ xml: XMLWriter) {
        xml.element("PostResponse") {
            xml.element("Location", r.location)
            xml.element("Bucket", r.bucket)
            xml.element("Key", r.key)
            xml.element("ETag", r.etag)
        }
    }

    /// Children in the order of S3's model: ETag, Checksum, ObjectParts, StorageClass, ObjectSize.
    static func write(_ r: GetObjectAttributesResult, _ xml: XMLWriter) {
        xml.element("GetObjectAttributesResponse", namespace: XMLWriter.s3Namespace) {
            xml.element("ETag", ifPresent: r.etag)
            if let checksum = r.checksum {
                xml.element("Checksum") {
                    // This API shows a COMPOSITE value without the `-N` that HeadObject appends.
                    xml.element(checksum.algorithm.elementName, Base64.encode(checksum.value))
                    xml.element("ChecksumType", checksum.type.rawValue)
                }
            }
            if let parts = r.objectParts {
                xml.element("ObjectParts") {
                    xml.element("PartsCount", "\(parts.partsCount)")
                    if let listing = parts.listing {
                        xml.element("PartNumberMarker", "\(listing.partNumberMarker)")
                        if let next = listing.nextPartNumberMarker { xml.element("NextPartNumberMarker", "\(next)") }
                        xml.element("MaxParts", "\(listing.maxParts)")
                        xml.element("IsTruncated", listing.isTruncated ? "true" : "false")
                        for part in listing.parts {
                            xml.element("Part") {
                                xml.element("PartNumber", "\(part.partNumber)")
                                xml.element("Size", "\(part.size)")
                                if let value = part.checksum { xml.element(listing.algorithm.elementName, Base64.encode(value)) }
                            }
                        }
                    }
                }
            }
            xml.element("StorageClass", ifPresent: r.storageClass)
            if let size = r.objectSize { xml.element("ObjectSize", "\(size)") }
        }
    }
}
