import Foundation
import StowageCore

/// The manifest's stored form: a version byte, then the fields in a fixed order, lengths
/// before bytes (the acceptor wire's writer and reader). JSON cost more than the rest of a
/// listing together (a thousand decodes a page); manifests written as JSON by earlier
/// builds (first byte `{`) still decode.
extension ObjectManifest {
    /// 2 adds, after the parts, the upload ID, the storage class and each part's checksum;
    /// version 1 (no such fields) still decodes.
    static let binaryVersion: UInt8 = 2
    static let binaryVersions: ClosedRange<UInt8> = 1...2

    func binary() -> [UInt8] {
        var out = AcceptorWire.Writer()
        out.byte(Self.binaryVersion)
        out.bytes(Array(versionID))
        out.string(key)
        out.uint64(UInt64(bitPattern: size))
        out.string(etag)
        out.uint64(UInt64(bitPattern: lastModifiedMs))
        out.string(ownerID)
        for field in [
            metadata.contentType, metadata.contentEncoding, metadata.contentDisposition, metadata.contentLanguage,
            metadata.cacheControl, metadata.expires, metadata.websiteRedirectLocation, metadata.cannedACL,
        ] {
            out.optional(field)
        }
        out.uint64(UInt64(metadata.user.count))
        for (name, value) in metadata.user.sorted(by: { $0.key < $1.key }) {
            out.string(name)
            out.string(value)
        }
        if let checksum {
            out.byte(1)
            out.string(checksum.algorithm)
            out.bytes(Array(checksum.value))
            out.string(checksum.type)
        } else {
            out.byte(0)
        }
        out.uint64(UInt64(parts.count))
        for part in parts {
            for number in [Int64(part.number), part.size, Int64(part.dataShards), Int64(part.parityShards), Int64(part.chunkSize)] {
                out.uint64(UInt64(bitPattern: number))
            }
            out.uint64(UInt64(part.slots.count))
            for slot in part.slots { out.uint64(UInt64(slot)) }
            out.byte(part.inline ? 1 : 0)
        }
        out.optional(uploadID)
        out.optional(storageClass)
        for part in parts {
            if let checksum = part.checksum {
                out.byte(1)
                out.bytes(Array(checksum))
            } else {
                out.byte(0)
            }
        }
        return out.buffer
    }

    /// Nil when the bytes are not a whole binary manifest.
    static func decodeBinary(_ bytes: [UInt8]) -> ObjectManifest? {
        var input = AcceptorWire.Reader(bytes)
        guard let version = input.byte(), binaryVersions.contains(version), let versionID = input.bytes(), let key = input.string(),
              let size = input.uint64(), let etag = input.string(), let modified = input.uint64(), let ownerID = input.string()
        else { return nil }
        var fields: [String?] = []
        for _ in 0..<8 {
            guard let field = input.optional() else { return nil }
            fields.append(field)
        }
        guard let userCount = input.uint64(), userCount <= UInt64(bytes.count) else { return nil }
        var user: [String: String] = [:]
        for _ in 0..<userCount {
            guard let name = input.string(), let value = input.string() else { return nil }
            user[name] = value
        }
        var checksum: Checksum?
        switch input.byte() {
        case 0?: break
        case 1?:
            guard let algorithm = input.string(), let value = input.bytes(), let type = input.string() else { return nil }
            checksum = Checksum(algorithm: algorithm, value: Data(value), type: type)
        default: return nil
        }
        guard let partCount = input.uint64(), partCount <= UInt64(bytes.count) else { return nil }
        var parts: [Part] = []
        for _ in 0..<partCount {
            var numbers: [Int64] = []
            for _ in 0..<5 {
                guard let number = input.uint64() else { return nil }
                numbers.append(Int64(bitPattern: number))
            }
            guard let slotCount = input.uint64(), slotCount <= 16 else { return nil }
            var slots: [Int] = []
            for _ in 0..<slotCount {
                guard let slot = input.uint64(), slot < 16 else { return nil }
                slots.append(Int(slot))
            }
            guard let inline = input.byte(), inline <= 1 else { return nil }
            parts.append(Part(
                number: Int(numbers[0]), size: numbers[1], dataShards: Int(numbers[2]), parityShards: Int(numbers[3]),
                chunkSize: Int(numbers[4]), slots: slots, inline: inline == 1))
        }
        var uploadID: String?, storageClass: String?
        if version >= 2 {
            guard let upload = input.optional(), let storage = input.optional() else { return nil }
            (uploadID, storageClass) = (upload, storage)
            for index in parts.indices {
                switch input.byte() {
                case 0?: break
                case 1?:
                    guard let value = input.bytes() else { return nil }
                    parts[index].checksum = Data(value)
                default: return nil
                }
            }
        }
        guard input.atEnd else { return nil }
        let metadata = Metadata(
            contentType: fields[0], contentEncoding: fields[1], contentDisposition: fields[2], contentLanguage: fields[3],
            cacheControl: fields[4], expires: fields[5], websiteRedirectLocation: fields[6], user: user, cannedACL: fields[7])
        return ObjectManifest(
            versionID: Data(versionID), key: key, size: Int64(bitPattern: size), etag: etag,
            lastModifiedMs: Int64(bitPattern: modified), ownerID: ownerID, metadata: metadata, checksum: checksum, parts: parts,
            uploadID: uploadID, storageClass: storageClass)
    }
}

extension AcceptorWire.Writer {
    mutating func string(_ s: String) { bytes(Array(s.utf8)) }
    mutating func optional(_ s: String?) {
        guard let s else { return byte(0) }
        byte(1)
        string(s)
    }
}

extension AcceptorWire.Reader {
    mutating func string() -> String? { bytes().map { String(decoding: $0, as: UTF8.self) } }
    /// `.some(nil)` for an absent field; nil when the bytes are malformed.
    mutating func optional() -> String?? {
        switch byte() {
        case 0?: return .some(nil)
        case 1?: return string().map { .some($0) }
        default: return nil
        }
    }
}
