import Foundation
import Testing
@testable import StowageCluster

/// The manifest's stored form: binary round trips every field, JSON from earlier builds still
/// reads, and truncated or extended bytes are refused.
@Suite struct ObjectManifestTests {
    let full = ObjectManifest(
        versionID: Data((0..<16).map { UInt8($0) }), key: "photos/日本/cat.jpg", size: 5_242_883, etag: "0123456789abcdef0123456789abcdef",
        lastModifiedMs: 1_764_800_000_123, ownerID: "owner-1",
        metadata: .init(
            contentType: "image/jpeg", contentEncoding: nil, contentDisposition: "inline", contentLanguage: nil, cacheControl: "max-age=60",
            expires: nil, websiteRedirectLocation: "/x", user: ["b": "2", "a": "1 ü"], cannedACL: "public-read"),
        checksum: .init(algorithm: "CRC32C", value: Data([1, 2, 3, 4]), type: "FULL_OBJECT"),
        parts: [.init(number: 1, size: 5_242_883, dataShards: 3, parityShards: 3, chunkSize: 4 << 20, slots: [2, 0, 1, 5, 4, 3], inline: false)])

    private func value(_ payload: [UInt8]) -> RegisterValue { RegisterValue(writeID: .random(), payload: payload) }

    @Test func binaryRoundTripsEveryField() throws {
        let bare = ObjectManifest(
            versionID: Data([9]), key: "", size: 0, etag: "e", lastModifiedMs: 0, ownerID: "",
            metadata: .init(user: [:]), checksum: nil, parts: [])
        for manifest in [full, bare] {
            let bytes = try manifest.encoded()
            #expect(bytes.first == ObjectManifest.binaryVersion)
            #expect(try ObjectManifest.decode(value(bytes)) == manifest)
        }
    }

    @Test func jsonFromEarlierBuildsStillDecodes() throws {
        let json = Array(try JSONEncoder().encode(full))
        #expect(try ObjectManifest.decode(value(json)) == full)
    }

    @Test func truncatedOrExtendedBytesAreRefused() throws {
        let bytes = try full.encoded()
        for cut in [1, 2, 17, bytes.count / 2, bytes.count - 1] {
            #expect(throws: (any Error).self) { try ObjectManifest.decode(value(Array(bytes.prefix(cut)))) }
        }
        #expect(throws: (any Error).self) { try ObjectManifest.decode(value(bytes + [0])) }
    }
}
