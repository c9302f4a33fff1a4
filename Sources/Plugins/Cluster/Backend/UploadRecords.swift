import Foundation
import StowageCore
import Synchronization

/// The register value of a multipart upload (CLUSTER.md §7), in the final object's set under
/// the bucket's upload scope, keyed `<object key> 0x00 <upload ID>`: listing the scope lists
/// uploads by key, then by upload ID, which is time-ordered (initiation order, as S3 lists).
/// A Complete or Abort writes its tombstone.
struct UploadRecord: Codable, Sendable, Equatable {
    var uploadID: String
    var key: String
    var initiatedMs: Int64
    var ownerID: String
    var storageClass: String
    var checksumAlgorithm: String?
    var checksumType: String?
    var metadata: ObjectManifest.Metadata
    /// Set by a Complete before it links and writes the object (CLUSTER.md §7 `completing`):
    /// an Abort, or another Complete, must first settle whether that version was chosen.
    var completing: Completing? = nil

    struct Completing: Codable, Sendable, Equatable {
        var versionID: Data
        var parts: [ObjectManifest.Part]
        /// The one ballot the object's write is proposed at (never retried above it).
        var ballot: Data
    }

    var info: MultipartUploadInfo {
        MultipartUploadInfo(
            key: key, uploadID: uploadID, initiated: S3Timestamp(millisecondsSinceEpoch: initiatedMs), ownerID: ownerID,
            storageClass: storageClass, checksumAlgorithm: checksumAlgorithm.flatMap(ChecksumAlgorithm.init(rawValue:)),
            checksumType: checksumType.flatMap(ChecksumType.init(rawValue:)))
    }

    func encoded() throws -> [UInt8] { Array(try JSONEncoder().encode(self)) }

    static func decode(_ value: RegisterValue) throws -> UploadRecord {
        try JSONDecoder().decode(UploadRecord.self, from: Data(value.payload))
    }

    /// `<key> 0x00 <upload ID>`: the upload ID is fixed-length ASCII, so the key is what precedes it.
    static func registerKey(key: String, uploadID: String) -> [UInt8] {
        Array(key.utf8) + [0] + Array(uploadID.utf8)
    }

    /// Upload IDs: 12 hex digits of the initiation time in ms, 4 of this process's sequence
    /// (uploads made within one millisecond list in the order they were made, as on FileStore),
    /// then 16 random ones.
    static let uploadIDLength = 32
    private static let sequence = Atomic<UInt64>(0)

    static func newUploadID(now: S3Timestamp) -> String {
        func padded(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let next = sequence.wrappingAdd(1, ordering: .relaxed).newValue & 0xFFFF
        return padded(UInt64(now.millisecondsSinceEpoch), 12) + padded(next, 4) + Hex.string(WriteID.random().bytes).prefix(16)
    }

    static func isWellFormed(uploadID: String) -> Bool {
        uploadID.utf8.count == uploadIDLength && uploadID.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}

/// The register value of one part of an upload, `part <n>` under the upload's part scope in
/// the same set. Each attempt stages its shards under its own data ref, so a re-upload is a
/// blind write that leaves the attempt it replaces to the collector.
struct PartRecord: Codable, Sendable, Equatable {
    var attempt: Data
    var etag: String
    var lastModifiedMs: Int64
    var checksumAlgorithm: String?
    var checksumValue: Data?
    /// Where and how the attempt's shards were written (`number` is the part number).
    var layout: ObjectManifest.Part

    var info: PartInfo {
        var info = PartInfo(partNumber: layout.number, etag: etag, size: layout.size, lastModified: S3Timestamp(millisecondsSinceEpoch: lastModifiedMs))
        info.checksumAlgorithm = checksumAlgorithm.flatMap(ChecksumAlgorithm.init(rawValue:))
        info.checksumValue = checksumValue.map(Array.init)
        return info
    }

    func encoded() throws -> [UInt8] { Array(try JSONEncoder().encode(self)) }

    static func decode(_ value: RegisterValue) throws -> PartRecord {
        try JSONDecoder().decode(PartRecord.self, from: Data(value.payload))
    }

    /// Big-endian, so part keys sort by number.
    static func registerKey(_ number: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(number).bigEndian) { Array($0) }
    }

    static func number(ofKey key: [UInt8]) -> Int? {
        guard key.count == 4 else { return nil }
        return Int(key.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }
}

/// Register scopes beside the buckets' object scopes (a bucket ID is 16 bytes; these are
/// longer, so they never collide with one).
enum MultipartScopes {
    static func uploads(bucketID: [UInt8]) -> [UInt8] { Array("mpu/".utf8) + bucketID }
    static func parts(bucketID: [UInt8], uploadID: String) -> [UInt8] { Array("part/".utf8) + bucketID + Array(uploadID.utf8) }
}
