import Foundation
import StowageCore

/// An object row: what S3 knows about the object plus where its bytes are.
struct ObjectRecord: Sendable {
    var key: String
    var size: Int64
    var etag: String
    var modifiedMS: Int64
    /// The inode of the object's file. A reader that opens the file checks it, so it never
    /// pairs this row's metadata with another write's bytes.
    var inode: UInt64
    var ownerID: String?
    var storageClass: String
    var partCount: Int
    var metadata: ObjectMetadata
    /// The temp file this write renames into place (recorded in the `pending` table at commit;
    /// not stored with the row).
    var pendingTemp: String?
    var checksum: ObjectChecksum?
    /// For multipart objects: each part's number, size and checksum, for `partNumber` reads and
    /// GetObjectAttributes.
    var parts: [ObjectPart] = []
    /// The multipart upload that made the object, so a repeated Complete of it can be answered.
    var uploadID: String?

    var info: ObjectInfo {
        ObjectInfo(key: key, size: size, etag: etag, lastModified: S3Timestamp(millisecondsSinceEpoch: modifiedMS),
                   metadata: metadata, storageClass: storageClass, ownerID: ownerID, partCount: partCount, checksum: checksum)
    }
}

/// How a multipart object's parts (Core's `ObjectPart`: number, size, checksum) are stored in
/// its index row.
enum PartLayout {
    /// Part numbers, 2 bytes big-endian each, in their own column (rows written before it
    /// existed number their parts 1...N).
    static func encodeNumbers(_ parts: [ObjectPart]) -> Data? {
        guard !parts.isEmpty else { return nil }
        return Data(parts.flatMap { [UInt8(truncatingIfNeeded: $0.partNumber >> 8), UInt8(truncatingIfNeeded: $0.partNumber)] })
    }

    static func decode(_ data: Data?, numbers: Data?) -> [ObjectPart] {
        var parts = decode(data)
        let bytes = numbers.map { [UInt8]($0) } ?? []
        for index in parts.indices {
            parts[index].partNumber = bytes.count >= 2 * index + 2 ? Int(bytes[2 * index]) << 8 | Int(bytes[2 * index + 1]) : index + 1
        }
        return parts
    }

    /// `size (8 bytes BE) | checksum length (1 byte) | checksum` per part.
    static func encode(_ parts: [ObjectPart]) -> Data? {
        guard !parts.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.count * 13)
        for part in parts {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: UInt64(part.size) >> UInt64(shift))) }
            let checksum = part.checksum ?? []
            bytes.append(UInt8(checksum.count))
            bytes.append(contentsOf: checksum)
        }
        return Data(bytes)
    }

    private static func decode(_ data: Data?) -> [ObjectPart] {
        guard let data else { return [] }
        let bytes = [UInt8](data)
        var parts: [ObjectPart] = []
        var index = 0
        while index + 9 <= bytes.count {
            let size = bytes[index..<index + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let length = Int(bytes[index + 8])
            index += 9
            guard index + length <= bytes.count else { break }
            parts.append(ObjectPart(partNumber: parts.count + 1, size: Int64(size), checksum: length == 0 ? nil : Array(bytes[index..<index + length])))
            index += length
        }
        return parts
    }
}

/// The stored form of object metadata: `name NUL value NUL` pairs. HTTP header values cannot
/// contain NUL, so the format needs no escaping and decodes without allocation-heavy parsers.
enum MetadataCodec {
    /// Not an HTTP header name a client can send as metadata (those start with `x-amz-meta-`).
    static let aclName = "x-stowage-acl"

    static func encode(_ metadata: ObjectMetadata) -> Data {
        var bytes: [UInt8] = []
        for (name, value) in metadata.storedHeaders {
            bytes.append(contentsOf: name.lowercased().utf8); bytes.append(0)
            bytes.append(contentsOf: value.utf8); bytes.append(0)
        }
        if let acl = metadata.cannedACL {
            bytes.append(contentsOf: aclName.utf8); bytes.append(0)
            bytes.append(contentsOf: acl.rawValue.utf8); bytes.append(0)
        }
        return Data(bytes)
    }

    static func decode(_ data: Data) -> ObjectMetadata {
        var metadata = ObjectMetadata()
        let parts = data.split(separator: 0, omittingEmptySubsequences: false)
        var index = 0
        while index + 1 < parts.count {
            let name = String(decoding: parts[index], as: UTF8.self)
            let value = String(decoding: parts[index + 1], as: UTF8.self)
            switch name {
            case "content-type": metadata.contentType = value
            case "content-encoding": metadata.contentEncoding = value
            case "content-disposition": metadata.contentDisposition = value
            case "content-language": metadata.contentLanguage = value
            case "cache-control": metadata.cacheControl = value
            case "expires": metadata.expires = value
            case "x-amz-website-redirect-location": metadata.websiteRedirectLocation = value
            case aclName: metadata.cannedACL = CannedACL(rawValue: value)
            default:
                if name.hasPrefix("x-amz-meta-") { metadata.user[String(name.dropFirst(11))] = value }
            }
            index += 2
        }
        return metadata
    }
}
