import NIOCore
import StowageCore

/// Objects: writes, reads, ranges, metadata, keys.
extension BackendConformanceSuite {
    // MARK: Objects

    static let objects: [ConformanceCase] = [
        ConformanceCase("put, get and head an object") { backend in
            _ = try await backend.createBucket("objects", owner: C.owner, region: "us-east-1")
            let bytes = Array("hello, stowage".utf8)
            let metadata = ObjectMetadata(contentType: "text/plain", contentEncoding: "identity", contentDisposition: "inline",
                                          contentLanguage: "en", cacheControl: "no-cache", expires: "Thu, 01 Dec 2044 16:00:00 GMT",
                                          user: ["color": "blue", "owner-name": "ünïcode ✓"])
            let info = try await C.put(backend, "objects", "greeting.txt", bytes, metadata: metadata)
            try expectEqual(info.etag, Hex.encode(MD5.hash(bytes)), "ETag is the hex MD5")
            try expectEqual(info.size, Int64(bytes.count), "size")
            try expectEqual(try await C.get(backend, "objects", "greeting.txt"), bytes, "content")
            let head = try await backend.headObject(ObjectAddress(bucket: "objects", key: "greeting.txt"), options: GetObjectOptions())
            try expectEqual(head.info.metadata, metadata, "metadata round trip")
            try expectEqual(head.info.etag, info.etag, "head etag")
            try expect(abs(head.info.lastModified.millisecondsSinceEpoch - S3Timestamp.now.millisecondsSinceEpoch) < 60_000, "last modified is now")
        },
        ConformanceCase("empty and chunked bodies") { backend in
            _ = try await backend.createBucket("bodies", owner: C.owner, region: "us-east-1")
            let empty = try await C.put(backend, "bodies", "empty", [])
            try expectEqual(empty.etag, "d41d8cd98f00b204e9800998ecf8427e", "MD5 of nothing")
            try expectEqual(try await C.get(backend, "bodies", "empty"), [], "empty content")
            let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            let info = try await backend.putObject(ObjectAddress(bucket: "bodies", key: "big"), body: C.chunkedBody(big, chunk: 7_919),
                                                   options: PutObjectOptions(owner: C.owner, expectedSize: Int64(big.count)))
            try expectEqual(info.etag, Hex.encode(MD5.hash(big)), "chunked ETag")
            try expectEqual(try await C.get(backend, "bodies", "big"), big, "chunked content")
        },
        ConformanceCase("overwrite replaces content and metadata") { backend in
            _ = try await backend.createBucket("overwrite", owner: C.owner, region: "us-east-1")
            _ = try await C.put(backend, "overwrite", "k", Array(repeating: 1, count: 1000), metadata: ObjectMetadata(contentType: "a/b", user: ["x": "1"]))
            _ = try await C.put(backend, "overwrite", "k", [9, 9], metadata: ObjectMetadata(contentType: "c/d"))
            try expectEqual(try await C.get(backend, "overwrite", "k"), [9, 9], "new content")
            let head = try await backend.headObject(ObjectAddress(bucket: "overwrite", key: "k"), options: GetObjectOptions())
            try expectEqual(head.info.metadata, ObjectMetadata(contentType: "c/d"), "metadata replaced, not merged")
            let listed = try await backend.listObjects(bucket: "overwrite", query: ListObjectsQuery())
            try expectEqual(listed.objects.count, 1, "one object after overwrite")
        },
        ConformanceCase("a wrong Content-MD5 stores nothing") { backend in
            _ = try await backend.createBucket("digest", owner: C.owner, region: "us-east-1")
            _ = try await C.put(backend, "digest", "k", [1, 2, 3])
            try await expectS3Error(.badDigest) {
                try await backend.putObject(ObjectAddress(bucket: "digest", key: "k"), body: C.body([4, 5, 6]),
                                            options: PutObjectOptions(owner: C.owner, contentMD5: MD5.hash([0])))
            }
            try expectEqual(try await C.get(backend, "digest", "k"), [1, 2, 3], "old object intact")
            try await expectS3Error(.badDigest) {
                try await backend.putObject(ObjectAddress(bucket: "digest", key: "new"), body: C.body([4]),
                                            options: PutObjectOptions(owner: C.owner, contentMD5: MD5.hash([5])))
            }
            try await expectS3Error(.noSuchKey) { try await C.get(backend, "digest", "new") }
            let good = try await backend.putObject(ObjectAddress(bucket: "digest", key: "new"), body: C.body([4]),
                                                   options: PutObjectOptions(owner: C.owner, contentMD5: MD5.hash([4])))
            try expectEqual(good.size, 1, "matching Content-MD5 stores")
        },
        ConformanceCase("short bodies and oversized bodies store nothing") { backend in
            _ = try await backend.createBucket("limits", owner: C.owner, region: "us-east-1")
            try await expectS3Error(.incompleteBody) {
                try await backend.putObject(ObjectAddress(bucket: "limits", key: "short"), body: C.body([1, 2]),
                                            options: PutObjectOptions(owner: C.owner, expectedSize: 10))
            }
            try await expectS3Error(.entityTooLarge) {
                try await backend.putObject(ObjectAddress(bucket: "limits", key: "big"), body: C.body(Array(repeating: 0, count: 101)),
                                            options: PutObjectOptions(owner: C.owner, maxSize: 100))
            }
            let page = try await backend.listObjects(bucket: "limits", query: ListObjectsQuery())
            try expectEqual(page.objects.count, 0, "nothing stored")
        },
        ConformanceCase("a body that fails midway stores nothing and keeps the old object") { backend in
            _ = try await backend.createBucket("broken", owner: C.owner, region: "us-east-1")
            _ = try await C.put(backend, "broken", "k", [7])
            let payload = Array(repeating: UInt8(3), count: 100_000)
            do {
                _ = try await backend.putObject(ObjectAddress(bucket: "broken", key: "k"), body: C.failingBody(payload, failAfter: 50_000),
                                                options: PutObjectOptions(owner: C.owner, expectedSize: Int64(payload.count)))
                try expect(false, "a failing body must fail the put")
            } catch is ConformanceFailure {
                throw ConformanceFailure(message: "a failing body must fail the put", line: #line)
            } catch {}
            try expectEqual(try await C.get(backend, "broken", "k"), [7], "old object intact")
        },
        ConformanceCase("keys are opaque bytes: hostile keys round-trip and stay distinct") { backend in
            _ = try await backend.createBucket("hostile", owner: C.owner, region: "us-east-1")
            let keys = hostileKeys
            for (index, key) in keys.enumerated() { _ = try await C.put(backend, "hostile", key, Array("\(index)".utf8)) }
            for (index, key) in keys.enumerated() {
                try expectEqual(try await C.get(backend, "hostile", key), Array("\(index)".utf8), "content of key \(key.debugDescription)")
            }
            let listed = try await C.listAll(backend, "hostile", pageSize: 1000)
            try expectEqual(listed.keys, keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "every hostile key listed once in byte order")
            for key in keys { try await backend.deleteObject(ObjectAddress(bucket: "hostile", key: key)) }
            let after = try await backend.listObjects(bucket: "hostile", query: ListObjectsQuery())
            try expectEqual(after.objects.count, 0, "all deleted")
            try await backend.deleteBucket("hostile")
        },
        ConformanceCase("ranges are served from the requested offset") { backend in
            _ = try await backend.createBucket("ranges", owner: C.owner, region: "us-east-1")
            let bytes = (0..<100).map { UInt8($0) }
            _ = try await C.put(backend, "ranges", "k", bytes)
            func get(_ range: RangeRequest) async throws -> ObjectReadResult {
                try await backend.getObject(ObjectAddress(bucket: "ranges", key: "k"), options: GetObjectOptions(range: range))
            }
            try expectEqual(try await C.readAll(get(.fromTo(10, 19))), Array(bytes[10...19]), "bytes=10-19")
            try expectEqual(try await C.readAll(get(.from(95))), Array(bytes[95...]), "bytes=95-")
            try expectEqual(try await C.readAll(get(.suffix(5))), Array(bytes[95...]), "bytes=-5")
            try expectEqual(try await C.readAll(get(.fromTo(90, 1000))), Array(bytes[90...]), "clipped at the end")
            try expectEqual(try await get(.fromTo(90, 1000)).range, ByteRange(first: 90, last: 99), "reported range")
            try await expectS3Error(.invalidRange) { try await get(.from(100)) }
            try await expectS3Error(.invalidRange) { try await get(.suffix(0)) }
        },
    ]

    /// Keys that break naive key-to-path mappings, for other test suites to reuse.
    public static var hostileKeysForTesting: [String] { hostileKeys }

    static let hostileKeys: [String] = [
        "a", "a/b", "a/b/", "a/", "/a", "//", "/", "a//b", "..", ".", "../../../../etc/passwd", "./x", "a/../b", "a/./b",
        "%", "%2F", "%25", "a%2Fb", "+plus+", "sp ace", "tab\tkey", "ctrl\u{01}\u{1F}\u{7F}", "line\nbreak", "cr\rkey",
        "unicodé", "emoji 🦤", "combining e\u{301}", "caf\u{E9}", "cafe\u{301}", "日本語/キー", "%x%", "%e", "%h", "x%", "x%/y", "%2E", "%2E%2E",
        String(repeating: "L", count: 300), String(repeating: "ü", count: 200) + "/tail", String(repeating: "k", count: 1024),
        String(repeating: "/", count: 600), String(repeating: "a/", count: 400) + "z", "?query#hash", "back\\slash", "*", "~",
    ]

    static let unicodeIdentity = ConformanceCase("canonically equivalent keys are different objects") { backend in
        _ = try await backend.createBucket("nfc", owner: C.owner, region: "us-east-1")
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        _ = try await C.put(backend, "nfc", composed, [1])
        _ = try await C.put(backend, "nfc", decomposed, [2, 2])
        for _ in 0..<2 {  // twice: the second round reads through any cache
            try expectEqual(try await C.get(backend, "nfc", composed), [1], "composed key")
            try expectEqual(try await C.get(backend, "nfc", decomposed), [2, 2], "decomposed key")
            try expectEqual(try await backend.headObject(ObjectAddress(bucket: "nfc", key: decomposed), options: GetObjectOptions()).info.size, 2, "head")
        }
        _ = try await backend.copyObject(from: ObjectAddress(bucket: "nfc", key: composed), to: ObjectAddress(bucket: "nfc", key: decomposed),
                                         options: CopyObjectOptions(metadataDirective: .copy, owner: C.owner))
        try expectEqual(try await C.get(backend, "nfc", decomposed), [1], "copy between equivalent keys copies")
        try await backend.deleteObject(ObjectAddress(bucket: "nfc", key: composed))
        try expectEqual(try await C.get(backend, "nfc", decomposed), [1], "deleting one leaves the other")
        let upload = try await backend.createMultipartUpload(ObjectAddress(bucket: "nfc", key: composed), options: MultipartUploadOptions(owner: C.owner))
        try await expectS3Error(.noSuchUpload) {
            try await backend.listParts(ObjectAddress(bucket: "nfc", key: decomposed), uploadID: upload.uploadID, query: ListPartsQuery())
        }
    }
}
