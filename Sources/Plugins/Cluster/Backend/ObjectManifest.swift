import Foundation
import StowageCore

/// The register value of an object version (CLUSTER.md §2, "The manifest"): everything a
/// read needs, including the erasure geometry each part was written with, so reads and
/// heals never take k′ or the chunk size from configuration.
struct ObjectManifest: Codable, Sendable, Equatable {
    /// Stored bytes that are not a manifest.
    struct CorruptManifest: Error, CustomStringConvertible {
        var description: String { "an object manifest cannot be decoded" }
    }

    struct Part: Codable, Sendable, Equatable {
        var number: Int
        var size: Int64
        var dataShards: Int
        var parityShards: Int
        var chunkSize: Int
        /// Shard i lives in slot `slots[i]` of the set.
        var slots: [Int]
        /// The shards are in the drives' inline tables, not in files.
        var inline: Bool
        /// A multipart object's part checksum (the upload's algorithm), for GetObjectAttributes
        /// and part reads.
        var checksum: Data? = nil
    }

    struct Metadata: Codable, Sendable, Equatable {
        var contentType: String?
        var contentEncoding: String?
        var contentDisposition: String?
        var contentLanguage: String?
        var cacheControl: String?
        var expires: String?
        var websiteRedirectLocation: String?
        var user: [String: String]
        var cannedACL: String?

        var objectMetadata: ObjectMetadata {
            ObjectMetadata(
                contentType: contentType, contentEncoding: contentEncoding, contentDisposition: contentDisposition,
                contentLanguage: contentLanguage, cacheControl: cacheControl, expires: expires,
                websiteRedirectLocation: websiteRedirectLocation, user: user,
                cannedACL: cannedACL.flatMap(CannedACL.init(rawValue:)))
        }
    }

    struct Checksum: Codable, Sendable, Equatable {
        var algorithm: String
        var value: Data
        var type: String
    }

    var versionID: Data
    var key: String
    var size: Int64
    var etag: String
    var lastModifiedMs: Int64
    var ownerID: String
    var metadata: Metadata
    var checksum: Checksum?
    var parts: [Part]
    /// The multipart upload that made this version (nil: a PUT or a copy): a retried Complete
    /// of the same upload is answered from it.
    var uploadID: String? = nil
    var storageClass: String? = nil

    /// A multipart object's parts as S3 numbers them (empty for a PUT: one unnumbered part).
    var objectParts: [ObjectPart] {
        guard uploadID != nil else { return [] }
        return parts.map { ObjectPart(partNumber: $0.number, size: $0.size, checksum: $0.checksum.map(Array.init)) }
    }

    func info() -> ObjectInfo {
        ObjectInfo(
            key: key, size: size, etag: etag, lastModified: S3Timestamp(millisecondsSinceEpoch: lastModifiedMs),
            metadata: metadata.objectMetadata,
            storageClass: storageClass ?? "STANDARD", ownerID: ownerID, partCount: uploadID == nil ? 0 : parts.count,
            checksum: checksum.flatMap { checksum in
                ChecksumAlgorithm(rawValue: checksum.algorithm).map {
                    let type = ChecksumType(rawValue: checksum.type) ?? .fullObject
                    // A composite checksum reads "<value>-<parts>".
                    return ObjectChecksum(algorithm: $0, value: Array(checksum.value), type: type, partCount: type == .composite ? parts.count : nil)
                }
            })
    }

    static func metadata(_ metadata: ObjectMetadata) -> Metadata {
        Metadata(
            contentType: metadata.contentType, contentEncoding: metadata.contentEncoding,
            contentDisposition: metadata.contentDisposition, contentLanguage: metadata.contentLanguage,
            cacheControl: metadata.cacheControl, expires: metadata.expires,
            websiteRedirectLocation: metadata.websiteRedirectLocation, user: metadata.user,
            cannedACL: metadata.cannedACL?.rawValue)
    }

    func encoded() throws -> [UInt8] { binary() }

    static func decode(_ value: RegisterValue) throws -> ObjectManifest {
        if let first = value.payload.first, binaryVersions.contains(first) {
            guard let manifest = decodeBinary(value.payload) else { throw CorruptManifest() }
            return manifest
        }
        // Anything but JSON from an earlier build is a version this build does not know.
        guard value.payload.first == UInt8(ascii: "{") else { throw CorruptManifest() }
        return try JSONDecoder().decode(ObjectManifest.self, from: Data(value.payload))
    }
}

/// The register value of a bucket (CLUSTER.md §6), in the system set under `bucket/<name>`.
struct BucketRecord: Codable, Sendable, Equatable {
    var id: Data
    var name: String
    var ownerID: String
    var region: String
    var createdMs: Int64
    /// Configuration documents (policy, CORS, ...) by `BucketSubresource` name.
    var configuration: [String: Data]? = nil
    /// Drawn afresh at random by every configuration write (nil until the first).
    var configurationVersion: UInt64? = nil
    /// The pool the bucket's keys live in (nil: pool 0, a bucket made before pools).
    var pool: Int? = nil

    var info: BucketInfo {
        // Unique per incarnation of the name and per configuration write: stages key their
        // caches on it. Before any configuration write it derives from the creation.
        let idBits = id.prefix(2).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return BucketInfo(
            name: name, creationDate: S3Timestamp(millisecondsSinceEpoch: createdMs), ownerID: ownerID, region: region,
            configurationVersion: configurationVersion ?? (UInt64(createdMs) << 16 | idBits))
    }

    static func decode(_ value: RegisterValue) throws -> BucketRecord {
        try JSONDecoder().decode(BucketRecord.self, from: Data(value.payload))
    }
}
