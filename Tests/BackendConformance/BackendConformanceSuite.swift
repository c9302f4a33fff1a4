import NIOCore
import StowageCore

/// The contract every `StorageBackend` must meet, as runnable cases. A backend's test target
/// runs each case against a fresh, opened instance:
///
/// ```swift
/// @Test(arguments: BackendConformanceSuite.cases)
/// func conformance(_ check: ConformanceCase) async throws {
///     let backend = try await makeFreshBackend()
///     try await check.run(backend)
/// }
/// ```
public enum BackendConformanceSuite {
    public static let cases: [ConformanceCase] = buckets + objects + [unicodeIdentity] + conditions + copies + listings + deletions + configurations + robustness + multipart

    typealias C = Conformance

    // MARK: Buckets

    static let buckets: [ConformanceCase] = [
        ConformanceCase("bucket lifecycle") { backend in
            try expectEqual(try await backend.listBuckets().count, 0, "fresh backend bucket count")
            let created = try await backend.createBucket("alpha", owner: C.owner, region: "us-east-1")
            try expectEqual(created.name, "alpha", "created name")
            try expectEqual(created.ownerID, C.owner.canonicalUserID, "owner")
            _ = try await backend.createBucket("beta", owner: C.owner, region: "us-east-1")
            try expectEqual(try await backend.listBuckets().map(\.name), ["alpha", "beta"], "bucket names")
            try expectEqual(try await backend.bucket("alpha").region, "us-east-1", "region")
            try await backend.deleteBucket("alpha")
            try await expectS3Error(.noSuchBucket) { try await backend.bucket("alpha") }
            try expectEqual(try await backend.listBuckets().map(\.name), ["beta"], "after delete")
        },
        ConformanceCase("creating an existing bucket names its owner") { backend in
            _ = try await backend.createBucket("taken", owner: C.owner, region: "us-east-1")
            try await expectS3Error(.bucketAlreadyOwnedByYou) { try await backend.createBucket("taken", owner: C.owner, region: "us-east-1") }
            try await expectS3Error(.bucketAlreadyExists) { try await backend.createBucket("taken", owner: C.stranger, region: "us-east-1") }
        },
        ConformanceCase("invalid bucket names are refused") { backend in
            for name in ["ab", "UPPER", "a..b", "../etc", "a/b", "192.168.1.1", "-abc", ""] {
                try await expectS3Error(.invalidBucketName) { try await backend.createBucket(name, owner: C.owner, region: "us-east-1") }
            }
        },
        ConformanceCase("a bucket with objects cannot be deleted") { backend in
            _ = try await backend.createBucket("full", owner: C.owner, region: "us-east-1")
            _ = try await C.put(backend, "full", "x", [1])
            try await expectS3Error(.bucketNotEmpty) { try await backend.deleteBucket("full") }
            try await backend.deleteObject(ObjectAddress(bucket: "full", key: "x"))
            try await backend.deleteBucket("full")
        },
        ConformanceCase("operations on a missing bucket fail with NoSuchBucket") { backend in
            let address = ObjectAddress(bucket: "ghost", key: "k")
            try await expectS3Error(.noSuchBucket) { try await C.put(backend, "ghost", "k", [1]) }
            try await expectS3Error(.noSuchBucket) { try await backend.getObject(address, options: GetObjectOptions()) }
            try await expectS3Error(.noSuchBucket) { try await backend.headObject(address, options: GetObjectOptions()) }
            try await expectS3Error(.noSuchBucket) { try await backend.deleteObject(address) }
            try await expectS3Error(.noSuchBucket) { try await backend.listObjects(bucket: "ghost", query: ListObjectsQuery()) }
            try await expectS3Error(.noSuchBucket) { try await backend.deleteBucket("ghost") }
        },
    ]

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

    // MARK: Conditions

    static let conditions: [ConformanceCase] = [
        ConformanceCase("read preconditions answer 304 and 412 with RFC 7232 precedence") { backend in
            _ = try await backend.createBucket("conditions", owner: C.owner, region: "us-east-1")
            let info = try await C.put(backend, "conditions", "k", [1])
            let address = ObjectAddress(bucket: "conditions", key: "k")
            func get(_ conditions: ReadConditions) async throws -> ObjectReadResult {
                try await backend.getObject(address, options: GetObjectOptions(conditions: conditions))
            }
            let past = S3Timestamp(millisecondsSinceEpoch: info.lastModified.millisecondsSinceEpoch - 3_600_000)
            let future = S3Timestamp(millisecondsSinceEpoch: info.lastModified.millisecondsSinceEpoch + 3_600_000)
            _ = try await get(ReadConditions(ifMatch: [info.quotedETag]))
            try await expectS3Error(.preconditionFailed) { try await get(ReadConditions(ifMatch: ["\"other\""])) }
            try await expectS3Error(.notModified) { try await get(ReadConditions(ifNoneMatch: [info.quotedETag])) }
            _ = try await get(ReadConditions(ifNoneMatch: ["\"other\""]))
            try await expectS3Error(.notModified) { try await get(ReadConditions(ifModifiedSince: future)) }
            _ = try await get(ReadConditions(ifModifiedSince: past))
            try await expectS3Error(.preconditionFailed) { try await get(ReadConditions(ifUnmodifiedSince: past)) }
            // A true If-Match overrides a false If-Unmodified-Since; a false If-None-Match wins over If-Modified-Since.
            _ = try await get(ReadConditions(ifMatch: [info.quotedETag], ifUnmodifiedSince: past))
            _ = try await get(ReadConditions(ifNoneMatch: ["\"other\""], ifModifiedSince: future))
            try await expectS3Error(.notModified) {
                try await backend.headObject(address, options: GetObjectOptions(conditions: ReadConditions(ifNoneMatch: ["*"])))
            }
        },
        ConformanceCase("write preconditions are checked at commit") { backend in
            _ = try await backend.createBucket("writes", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "writes", key: "k")
            let create = PutObjectOptions(owner: C.owner, conditions: .createOnly)
            let first = try await backend.putObject(address, body: C.body([1]), options: create)
            try await expectS3Error(.preconditionFailed) { try await backend.putObject(address, body: C.body([2]), options: create) }
            try await expectS3Error(.preconditionFailed) {
                try await backend.putObject(address, body: C.body([3]), options: PutObjectOptions(owner: C.owner, conditions: WriteConditions(ifMatch: ["\"nope\""])))
            }
            _ = try await backend.putObject(address, body: C.body([4]), options: PutObjectOptions(owner: C.owner, conditions: WriteConditions(ifMatch: [first.quotedETag])))
            try expectEqual(try await C.get(backend, "writes", "k"), [4], "If-Match write applied")
            try await expectS3Error(.noSuchKey) {
                try await backend.putObject(ObjectAddress(bucket: "writes", key: "absent"), body: C.body([1]),
                                            options: PutObjectOptions(owner: C.owner, conditions: WriteConditions(ifMatch: ["*"])))
            }
        },
        ConformanceCase("racing If-None-Match writers: exactly one wins, unconditional writers alongside all land") { backend in
            _ = try await backend.createBucket("race", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "race", key: "once")
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                // Losers fail inside a commit shared with these writers; their failure must not undo them.
                for writer in 0..<8 {
                    group.addTask {
                        _ = try await backend.putObject(ObjectAddress(bucket: "race", key: "plain-\(writer)"), body: C.body([UInt8(writer)]),
                                                        options: PutObjectOptions(owner: C.owner))
                        return false
                    }
                }
                for writer in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await backend.putObject(address, body: C.chunkedBody(Array(repeating: UInt8(writer), count: 20_000), chunk: 1000),
                                                            options: PutObjectOptions(owner: C.owner, conditions: .createOnly))
                            return true
                        } catch let error as S3Error where error.code == .preconditionFailed || error.code == .conditionalRequestConflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try expectEqual(winners, 1, "winners")
            let stored = try await C.get(backend, "race", "once")
            try expectEqual(stored.count, 20_000, "winner's size")
            try expectEqual(Set(stored).count, 1, "the stored body is one writer's, whole")
            for writer in 0..<8 {
                try expectEqual(try await C.get(backend, "race", "plain-\(writer)"), [UInt8(writer)], "unconditional writer \(writer)")
            }
        },
    ]

    // MARK: Copies

    static let copies: [ConformanceCase] = [
        ConformanceCase("copy keeps or replaces metadata") { backend in
            _ = try await backend.createBucket("src", owner: C.owner, region: "us-east-1")
            _ = try await backend.createBucket("dst", owner: C.owner, region: "us-east-1")
            let original = try await C.put(backend, "src", "a", [1, 2, 3], metadata: ObjectMetadata(contentType: "x/y", user: ["m": "1"]))
            let kept = try await backend.copyObject(from: ObjectAddress(bucket: "src", key: "a"), to: ObjectAddress(bucket: "dst", key: "b"),
                                                    options: CopyObjectOptions(metadataDirective: .copy, owner: C.owner))
            try expectEqual(kept.etag, original.etag, "copy keeps the ETag")
            try expectEqual(try await C.get(backend, "dst", "b"), [1, 2, 3], "copied content")
            try expectEqual(try await backend.headObject(ObjectAddress(bucket: "dst", key: "b"), options: GetObjectOptions()).info.metadata,
                                  ObjectMetadata(contentType: "x/y", user: ["m": "1"]), "COPY metadata")
            _ = try await backend.copyObject(from: ObjectAddress(bucket: "src", key: "a"), to: ObjectAddress(bucket: "dst", key: "c"),
                                             options: CopyObjectOptions(metadataDirective: .replace, metadata: ObjectMetadata(contentType: "new/type"), owner: C.owner))
            try expectEqual(try await backend.headObject(ObjectAddress(bucket: "dst", key: "c"), options: GetObjectOptions()).info.metadata,
                                  ObjectMetadata(contentType: "new/type"), "REPLACE metadata")
            // The source is untouched.
            try expectEqual(try await C.get(backend, "src", "a"), [1, 2, 3], "source intact")
        },
        ConformanceCase("copy onto itself with REPLACE changes only metadata") { backend in
            _ = try await backend.createBucket("self", owner: C.owner, region: "us-east-1")
            let original = try await C.put(backend, "self", "k", [5, 6], metadata: ObjectMetadata(contentType: "a/a"))
            let address = ObjectAddress(bucket: "self", key: "k")
            let updated = try await backend.copyObject(from: address, to: address,
                                                       options: CopyObjectOptions(metadataDirective: .replace, metadata: ObjectMetadata(contentType: "b/b", user: ["v": "2"]), owner: C.owner))
            try expectEqual(updated.etag, original.etag, "same bytes, same ETag")
            try expectEqual(try await C.get(backend, "self", "k"), [5, 6], "content unchanged")
            try expectEqual(try await backend.headObject(address, options: GetObjectOptions()).info.metadata,
                                  ObjectMetadata(contentType: "b/b", user: ["v": "2"]), "metadata replaced")
        },
        ConformanceCase("copy source preconditions and missing sources") { backend in
            _ = try await backend.createBucket("copycond", owner: C.owner, region: "us-east-1")
            let info = try await C.put(backend, "copycond", "a", [1])
            let from = ObjectAddress(bucket: "copycond", key: "a")
            let to = ObjectAddress(bucket: "copycond", key: "b")
            try await expectS3Error(.preconditionFailed) {
                try await backend.copyObject(from: from, to: to, options: CopyObjectOptions(owner: C.owner, sourceConditions: ReadConditions(ifMatch: ["\"x\""])))
            }
            try await expectS3Error(.preconditionFailed) {
                try await backend.copyObject(from: from, to: to, options: CopyObjectOptions(owner: C.owner, sourceConditions: ReadConditions(ifNoneMatch: [info.quotedETag])))
            }
            try await expectS3Error(.noSuchKey) { try await C.get(backend, "copycond", "b") }
            try await expectS3Error(.noSuchKey) {
                try await backend.copyObject(from: ObjectAddress(bucket: "copycond", key: "missing"), to: to, options: CopyObjectOptions(owner: C.owner))
            }
            try await expectS3Error(.noSuchBucket) {
                try await backend.copyObject(from: ObjectAddress(bucket: "nobucket", key: "a"), to: to, options: CopyObjectOptions(owner: C.owner))
            }
        },
    ]

    // MARK: Listings

    static let listings: [ConformanceCase] = [
        ConformanceCase("listing is in UTF-8 byte order with exact pagination") { backend in
            _ = try await backend.createBucket("order", owner: C.owner, region: "us-east-1")
            let keys = ["b", "a", "A", "é", "e", "z", "~", "a/b", "a b", "a+b", "a0", "\u{7F}", "日", "🦤", "ab", "a-b", "a.b", "a_b"]
            for key in keys { _ = try await C.put(backend, "order", key, [1]) }
            let expected = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for size in [1, 2, 5, 1000] {
                let listed = try await C.listAll(backend, "order", pageSize: size)
                try expectEqual(listed.keys, expected, "page size \(size)")
                try expectEqual(listed.pages, max(1, (keys.count + size - 1) / size), "page count for size \(size)")
            }
        },
        ConformanceCase("delimiter listing rolls up common prefixes across pages") { backend in
            _ = try await backend.createBucket("tree", owner: C.owner, region: "us-east-1")
            var keys: [String] = []
            for top in ["a", "b", "c"] {
                for middle in 0..<4 { for leaf in 0..<3 { keys.append("\(top)/\(middle)/\(leaf).txt") } }
                keys.append("\(top).txt")
            }
            keys += ["a/", "a//x", "root", "b/0/", "c-d/e"]
            for key in keys { _ = try await C.put(backend, "tree", key, [1]) }
            for (prefix, delimiter) in [("", "/"), ("a/", "/"), ("a/0/", "/"), ("b", "/"), ("", "0"), ("a/", "/0/"), ("", "."), ("zzz", "/")] {
                let expected = C.model(keys, prefix: prefix, delimiter: delimiter)
                for size in [1, 2, 3, 1000] {
                    let listed = try await C.listAll(backend, "tree", prefix: prefix, delimiter: delimiter, pageSize: size)
                    try expectEqual(listed.keys, expected.keys, "keys for prefix \(prefix) delimiter \(delimiter) size \(size)")
                    try expectEqual(listed.prefixes, expected.prefixes, "prefixes for prefix \(prefix) delimiter \(delimiter) size \(size)")
                }
            }
        },
        ConformanceCase("listing after a marker inside a common prefix skips that prefix") { backend in
            _ = try await backend.createBucket("marker", owner: C.owner, region: "us-east-1")
            for key in ["a/1", "a/2", "b/1", "c"] { _ = try await C.put(backend, "marker", key, [1]) }
            let page = try await backend.listObjects(bucket: "marker", query: ListObjectsQuery(delimiter: "/", after: "a/1", maxKeys: 10))
            try expectEqual(page.commonPrefixes, ["b/"], "prefixes after a/1")
            try expectEqual(page.objects.map(\.key), ["c"], "keys after a/1")
            let empty = try await backend.listObjects(bucket: "marker", query: ListObjectsQuery(maxKeys: 0))
            try expect(empty.objects.isEmpty && empty.commonPrefixes.isEmpty, "max-keys 0 lists nothing")
            let tail = try await backend.listObjects(bucket: "marker", query: ListObjectsQuery(after: "c", maxKeys: 10))
            try expect(tail.objects.isEmpty && !tail.isTruncated, "nothing after the last key")
        },
        ConformanceCase("listing 2,500 keys pages exactly") { backend in
            _ = try await backend.createBucket("many", owner: C.owner, region: "us-east-1")
            var keys: [String] = []
            for index in 0..<2500 { keys.append("dir\(index % 7)/file-\(index)") }
            for key in keys { _ = try await C.put(backend, "many", key, []) }
            let all = try await C.listAll(backend, "many", pageSize: 1000)
            try expectEqual(all.keys, keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "all keys")
            try expectEqual(all.pages, 3, "pages of 1,000")
            let grouped = try await C.listAll(backend, "many", delimiter: "/", pageSize: 3)
            try expectEqual(grouped.prefixes, (0..<7).map { "dir\($0)/" }, "seven prefixes")
        },
    ]

    // MARK: Deletions

    static let deletions: [ConformanceCase] = [
        ConformanceCase("delete is idempotent and batch deletes report per key") { backend in
            _ = try await backend.createBucket("del", owner: C.owner, region: "us-east-1")
            for key in ["a", "b", "c/d"] { _ = try await C.put(backend, "del", key, [1]) }
            try await backend.deleteObject(ObjectAddress(bucket: "del", key: "a"))
            try await backend.deleteObject(ObjectAddress(bucket: "del", key: "a"))
            try await expectS3Error(.noSuchKey) { try await C.get(backend, "del", "a") }
            let results = try await backend.deleteObjects(bucket: "del", keys: ["b", "missing", "c/d"])
            try expectEqual(results.count, 3, "one result per key")
            for result in results { if case .failure(let error) = result { throw ConformanceFailure(message: "unexpected \(error)", line: #line) } }
            let page = try await backend.listObjects(bucket: "del", query: ListObjectsQuery())
            try expectEqual(page.objects.count, 0, "all gone")
            try await backend.deleteBucket("del")
        },
        ConformanceCase("a deleted key can be written again") { backend in
            _ = try await backend.createBucket("again", owner: C.owner, region: "us-east-1")
            for round in 0..<5 {
                _ = try await C.put(backend, "again", "x/y/z", [UInt8(round)])
                try expectEqual(try await C.get(backend, "again", "x/y/z"), [UInt8(round)], "round \(round)")
                try await backend.deleteObject(ObjectAddress(bucket: "again", key: "x/y/z"))
            }
        },
    ]

    // MARK: Bucket configuration documents

    static let configurations: [ConformanceCase] = [
        ConformanceCase("bucket configuration documents are stored and go away with the bucket") { backend in
            _ = try await backend.createBucket("configured", owner: C.owner, region: "us-east-1")
            try expectEqual(try await backend.bucketConfiguration("configured", kind: .policy), nil, "no policy yet")
            try await backend.setBucketConfiguration("configured", kind: .policy, document: Array("{\"a\":1}".utf8))
            try await backend.setBucketConfiguration("configured", kind: .cors, document: Array("<CORS/>".utf8))
            try expectEqual(try await backend.bucketConfiguration("configured", kind: .policy), Array("{\"a\":1}".utf8), "policy")
            try await backend.setBucketConfiguration("configured", kind: .policy, document: nil)
            try expectEqual(try await backend.bucketConfiguration("configured", kind: .policy), nil, "policy removed")
            try await backend.deleteBucket("configured")
            _ = try await backend.createBucket("configured", owner: C.owner, region: "us-east-1")
            try expectEqual(try await backend.bucketConfiguration("configured", kind: .cors), nil, "documents removed with the bucket")
        },
    ]

    // MARK: Robustness

    static let robustness: [ConformanceCase] = [
        ConformanceCase("readers never see a mix of two writes") { backend in
            _ = try await backend.createBucket("atomic", owner: C.owner, region: "us-east-1")
            let versions: [[UInt8]] = (0..<4).map { version in Array(repeating: UInt8(version), count: 5_000 + version * 37_000) }
            _ = try await C.put(backend, "atomic", "k", versions[0])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for round in 0..<60 { _ = try await C.put(backend, "atomic", "k", versions[round % versions.count]) }
                }
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<60 {
                            let result = try await backend.getObject(ObjectAddress(bucket: "atomic", key: "k"), options: GetObjectOptions())
                            let bytes = try await C.readAll(result)
                            try expect(versions.contains(bytes), "a read returned bytes of no single write (\(bytes.count) bytes)")
                            try expectEqual(Hex.encode(MD5.hash(bytes)), result.info.etag, "bytes match the ETag they came with")
                        }
                    }
                }
                try await group.waitForAll()
            }
        },
    ]

    // MARK: Multipart uploads

    static let mib = 1024 * 1024

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ $0 >> 11) }
    }

    static func part(_ backend: any StorageBackend, _ address: ObjectAddress, _ upload: String, _ number: Int, _ data: [UInt8],
                     checksum: ChecksumAlgorithm? = nil) async throws -> PartInfo {
        try await backend.uploadPart(address, uploadID: upload, partNumber: number, body: C.body(data),
                                     options: PartOptions(expectedSize: Int64(data.count),
                                                          checksum: checksum.map { PayloadChecksum(algorithm: $0, value: ChecksumHasher.checksum($0, data)) }))
    }

    static let multipart: [ConformanceCase] = [
        ConformanceCase("multipart: parts assemble into the object with an md5-of-md5s ETag") { backend in
            _ = try await backend.createBucket("mpu", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "mpu", key: "big/object.bin")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(metadata: ObjectMetadata(contentType: "x/y", user: ["a": "1"]), owner: C.owner))
            let pieces = [bytes(5 * mib, seed: 1), bytes(5 * mib + 17, seed: 2), bytes(1000, seed: 3)]
            var parts: [PartInfo] = []
            for (index, piece) in pieces.enumerated() { parts.append(try await part(backend, address, upload.uploadID, index + 1, piece)) }
            try expectEqual(parts.map(\.etag), pieces.map { Hex.encode(MD5.hash($0)) }, "part ETags are part MD5s")
            let info = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID,
                                                                 parts: parts.map { CompletedPart(partNumber: $0.partNumber, etag: "\"\($0.etag)\"") },
                                                                 options: CompleteMultipartOptions())
            let expectedETag = Hex.encode(MD5.hash(pieces.flatMap { MD5.hash($0) })) + "-3"
            try expectEqual(info.etag, expectedETag, "multipart ETag")
            try expectEqual(info.partCount, 3, "part count")
            try expectEqual(try await C.get(backend, "mpu", "big/object.bin"), pieces.flatMap { $0 }, "assembled bytes")
            let head = try await backend.headObject(address, options: GetObjectOptions())
            try expectEqual(head.info.metadata, ObjectMetadata(contentType: "x/y", user: ["a": "1"]), "metadata from CreateMultipartUpload")
            let second = try await backend.getObject(address, options: GetObjectOptions(partNumber: 2))
            try expectEqual(second.range, ByteRange(first: Int64(5 * mib), last: Int64(10 * mib + 16)), "partNumber=2 range")
            try expectEqual(try await C.readAll(second), pieces[1], "partNumber=2 bytes")
            try await expectS3Error(.invalidPart) { try await backend.getObject(address, options: GetObjectOptions(partNumber: 4)) }
            try await expectS3Error(.noSuchUpload) { try await backend.listParts(address, uploadID: upload.uploadID, query: ListPartsQuery()) }
            let uploads = try await backend.listMultipartUploads(bucket: "mpu", query: ListUploadsQuery())
            try expect(uploads.uploads.isEmpty, "no uploads after completion")
        },
        ConformanceCase("multipart: re-uploading a part replaces it; ListParts paginates") { backend in
            _ = try await backend.createBucket("parts", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "parts", key: "k")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            _ = try await part(backend, address, upload.uploadID, 1, bytes(100, seed: 1))
            let replaced = try await part(backend, address, upload.uploadID, 1, bytes(200, seed: 9))
            for number in 2...5 { _ = try await part(backend, address, upload.uploadID, number, bytes(10 * number, seed: UInt8(number))) }
            var seen: [PartInfo] = []
            var marker = 0
            var pages = 0
            while true {
                let page = try await backend.listParts(address, uploadID: upload.uploadID, query: ListPartsQuery(partNumberMarker: marker, maxParts: 2))
                seen += page.parts
                pages += 1
                guard page.isTruncated, let next = page.nextPartNumberMarker else { break }
                marker = next
            }
            try expectEqual(seen.map(\.partNumber), [1, 2, 3, 4, 5], "parts in order")
            try expectEqual(pages, 3, "pages of two")
            try expectEqual(seen[0].etag, replaced.etag, "the later upload of part 1 wins")
            try expectEqual(seen[0].size, 200, "replaced size")
            try await backend.abortMultipartUpload(address, uploadID: upload.uploadID)
        },
        ConformanceCase("multipart: completion enforces order, ETags, sizes and existence") { backend in
            _ = try await backend.createBucket("rules", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "rules", key: "k")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            let one = try await part(backend, address, upload.uploadID, 1, bytes(5 * mib, seed: 1))
            let two = try await part(backend, address, upload.uploadID, 2, bytes(10, seed: 2))
            let three = try await part(backend, address, upload.uploadID, 3, bytes(10, seed: 3))
            func complete(_ parts: [CompletedPart]) async throws -> ObjectInfo {
                try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
            }
            try await expectS3Error(.invalidPartOrder) { try await complete([.init(partNumber: 2, etag: two.etag), .init(partNumber: 1, etag: one.etag)]) }
            try await expectS3Error(.invalidPart) { try await complete([.init(partNumber: 1, etag: "\"0000\"")]) }
            try await expectS3Error(.invalidPart) { try await complete([.init(partNumber: 1, etag: one.etag), .init(partNumber: 7, etag: one.etag)]) }
            try await expectS3Error(.entityTooSmall) { try await complete([.init(partNumber: 2, etag: two.etag), .init(partNumber: 3, etag: three.etag)]) }
            try await expectS3Error(.malformedXML) { try await complete([]) }
            try await expectS3Error(.noSuchKey) { try await C.get(backend, "rules", "k") }
            // Skipping part 2 is allowed: listed parts need not be contiguous.
            let info = try await complete([.init(partNumber: 1, etag: one.etag), .init(partNumber: 3, etag: three.etag)])
            try expectEqual(info.size, Int64(5 * mib + 10), "size of parts 1 and 3")
            try await expectS3Error(.noSuchUpload) { try await complete([.init(partNumber: 1, etag: one.etag)]) }
        },
        ConformanceCase("multipart: abort, unknown uploads and expiry") { backend in
            _ = try await backend.createBucket("abort", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "abort", key: "k")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            _ = try await part(backend, address, upload.uploadID, 1, bytes(10, seed: 1))
            try await backend.abortMultipartUpload(address, uploadID: upload.uploadID)
            try await expectS3Error(.noSuchUpload) { try await backend.abortMultipartUpload(address, uploadID: upload.uploadID) }
            try await expectS3Error(.noSuchUpload) { try await part(backend, address, upload.uploadID, 2, [1]) }
            try await expectS3Error(.noSuchUpload) { try await backend.listParts(ObjectAddress(bucket: "abort", key: "other"), uploadID: "nope", query: ListPartsQuery()) }
            let other = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            try await expectS3Error(.noSuchUpload) { try await backend.listParts(ObjectAddress(bucket: "abort", key: "wrong-key"), uploadID: other.uploadID, query: ListPartsQuery()) }
            try expectEqual(try await backend.expireMultipartUploads(initiatedBefore: S3Timestamp(millisecondsSinceEpoch: 0)), 0, "nothing older than 1970")
            let future = S3Timestamp(millisecondsSinceEpoch: S3Timestamp.now.millisecondsSinceEpoch + 60_000)
            try expectEqual(try await backend.expireMultipartUploads(initiatedBefore: future), 1, "the stale upload expires")
            try await expectS3Error(.noSuchUpload) { try await backend.listParts(address, uploadID: other.uploadID, query: ListPartsQuery()) }
        },
        ConformanceCase("multipart: ListMultipartUploads with prefix, delimiter, markers and paging") { backend in
            _ = try await backend.createBucket("uploads", owner: C.owner, region: "us-east-1")
            var ids: [String: [String]] = [:]
            for key in ["a/1", "a/2", "b", "b", "c/x/y", "d"] {
                let upload = try await backend.createMultipartUpload(ObjectAddress(bucket: "uploads", key: key), options: MultipartUploadOptions(owner: C.owner))
                ids[key, default: []].append(upload.uploadID)
            }
            let all = try await backend.listMultipartUploads(bucket: "uploads", query: ListUploadsQuery())
            try expectEqual(all.uploads.map(\.key), ["a/1", "a/2", "b", "b", "c/x/y", "d"], "all uploads by key")
            try expectEqual(all.uploads.filter { $0.key == "b" }.map(\.uploadID), ids["b"]!, "same key: initiation order")
            let grouped = try await backend.listMultipartUploads(bucket: "uploads", query: ListUploadsQuery(delimiter: "/"))
            try expectEqual(grouped.commonPrefixes, ["a/", "c/"], "prefixes")
            try expectEqual(grouped.uploads.map(\.key), ["b", "b", "d"], "top-level uploads")
            let page = try await backend.listMultipartUploads(bucket: "uploads", query: ListUploadsQuery(maxUploads: 3))
            try expect(page.isTruncated, "truncated at three")
            try expectEqual(page.nextKeyMarker, "b", "next key marker")
            let rest = try await backend.listMultipartUploads(bucket: "uploads", query: ListUploadsQuery(keyMarker: page.nextKeyMarker, uploadIDMarker: page.nextUploadIDMarker))
            try expectEqual(rest.uploads.map(\.key), ["b", "c/x/y", "d"], "continuation")
            let afterKey = try await backend.listMultipartUploads(bucket: "uploads", query: ListUploadsQuery(keyMarker: "b"))
            try expectEqual(afterKey.uploads.map(\.key), ["c/x/y", "d"], "key-marker alone skips that key")
            let prefixed = try await backend.listMultipartUploads(bucket: "uploads", query: ListUploadsQuery(prefix: "a/"))
            try expectEqual(prefixed.uploads.map(\.key), ["a/1", "a/2"], "prefix")
        },
        ConformanceCase("multipart: COMPOSITE and FULL_OBJECT checksums as S3 computes them") { backend in
            _ = try await backend.createBucket("sums", owner: C.owner, region: "us-east-1")
            let pieces = [bytes(5 * mib, seed: 4), bytes(3333, seed: 5)]
            // COMPOSITE CRC32: checksum of the concatenated part checksums, "-N".
            let composite = ObjectAddress(bucket: "sums", key: "composite")
            let upload = try await backend.createMultipartUpload(composite, options: MultipartUploadOptions(owner: C.owner, checksumAlgorithm: .crc32, checksumType: .composite))
            try await expectS3Error(.invalidRequest) { try await part(backend, composite, upload.uploadID, 1, pieces[0]) }
            try await expectS3Error(.invalidRequest) { try await part(backend, composite, upload.uploadID, 1, pieces[0], checksum: .sha256) }
            var parts: [PartInfo] = []
            for (index, piece) in pieces.enumerated() { parts.append(try await part(backend, composite, upload.uploadID, index + 1, piece, checksum: .crc32)) }
            try await expectS3Error(.invalidRequest) {
                try await backend.completeMultipartUpload(composite, uploadID: upload.uploadID, parts: parts.map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag) }, options: CompleteMultipartOptions())
            }
            let completed = parts.map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag, checksums: [.crc32: Base64.encode($0.checksum!.value)]) }
            let info = try await backend.completeMultipartUpload(composite, uploadID: upload.uploadID, parts: completed, options: CompleteMultipartOptions())
            let expected = ChecksumHasher.checksum(.crc32, pieces.flatMap { ChecksumHasher.checksum(.crc32, $0) })
            try expectEqual(info.checksum?.encoded, Base64.encode(expected) + "-2", "composite CRC32")
            try expectEqual(try await backend.headObject(composite, options: GetObjectOptions()).info.checksum?.encoded, Base64.encode(expected) + "-2", "stored")

            // FULL_OBJECT CRC64NVME: the CRC of the whole object, from the part CRCs; parts without one are computed.
            let full = ObjectAddress(bucket: "sums", key: "full")
            let fullUpload = try await backend.createMultipartUpload(full, options: MultipartUploadOptions(owner: C.owner, checksumAlgorithm: .crc64nvme, checksumType: .fullObject))
            let first = try await part(backend, full, fullUpload.uploadID, 1, pieces[0], checksum: .crc64nvme)
            let second = try await part(backend, full, fullUpload.uploadID, 2, pieces[1])
            try expectEqual(second.checksum?.value, ChecksumHasher.checksum(.crc64nvme, pieces[1]), "computed part CRC")
            let whole = ChecksumHasher.checksum(.crc64nvme, pieces.flatMap { $0 })
            try await expectS3Error(.badDigest) {
                try await backend.completeMultipartUpload(full, uploadID: fullUpload.uploadID, parts: [first, second].map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag) },
                                                          options: CompleteMultipartOptions(expectedChecksum: (.crc64nvme, "AAAAAAAAAAA=")))
            }
            let fullInfo = try await backend.completeMultipartUpload(full, uploadID: fullUpload.uploadID, parts: [first, second].map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag) },
                                                                     options: CompleteMultipartOptions(expectedChecksum: (.crc64nvme, Base64.encode(whole))))
            try expectEqual(fullInfo.checksum, ObjectChecksum(algorithm: .crc64nvme, value: whole, type: .fullObject), "full-object CRC64NVME")
        },
        ConformanceCase("multipart: UploadPartCopy copies a range of an object") { backend in
            _ = try await backend.createBucket("pcopy", owner: C.owner, region: "us-east-1")
            let source = bytes(6 * mib, seed: 6)
            _ = try await C.put(backend, "pcopy", "source", source)
            let address = ObjectAddress(bucket: "pcopy", key: "dest")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            let first = try await backend.uploadPartCopy(address, uploadID: upload.uploadID, partNumber: 1, source: ObjectAddress(bucket: "pcopy", key: "source"),
                                                         options: PartCopyOptions(range: ByteRange(first: 0, last: Int64(5 * mib) - 1)))
            let second = try await backend.uploadPartCopy(address, uploadID: upload.uploadID, partNumber: 2, source: ObjectAddress(bucket: "pcopy", key: "source"),
                                                          options: PartCopyOptions(range: ByteRange(first: Int64(5 * mib), last: Int64(6 * mib) - 1)))
            try expectEqual(first.etag, Hex.encode(MD5.hash(source[..<(5 * mib)])), "copied part ETag")
            try await expectS3Error(.invalidRange) {
                try await backend.uploadPartCopy(address, uploadID: upload.uploadID, partNumber: 3, source: ObjectAddress(bucket: "pcopy", key: "source"),
                                                 options: PartCopyOptions(range: ByteRange(first: 0, last: Int64(7 * mib))))
            }
            try await expectS3Error(.preconditionFailed) {
                try await backend.uploadPartCopy(address, uploadID: upload.uploadID, partNumber: 3, source: ObjectAddress(bucket: "pcopy", key: "source"),
                                                 options: PartCopyOptions(sourceConditions: ReadConditions(ifMatch: ["\"nope\""])))
            }
            _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [first, second].map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag) },
                                                          options: CompleteMultipartOptions())
            try expectEqual(try await C.get(backend, "pcopy", "dest"), source, "copied object")
        },
        ConformanceCase("multipart: Complete honours If-None-Match and keeps the upload on failure") { backend in
            _ = try await backend.createBucket("mpcond", owner: C.owner, region: "us-east-1")
            _ = try await C.put(backend, "mpcond", "k", [1])
            let address = ObjectAddress(bucket: "mpcond", key: "k")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            let one = try await part(backend, address, upload.uploadID, 1, [2, 2])
            try await expectS3Error(.preconditionFailed) {
                try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: one.etag)],
                                                          options: CompleteMultipartOptions(conditions: .createOnly))
            }
            try expectEqual(try await C.get(backend, "mpcond", "k"), [1], "old object intact")
            _ = try await backend.listParts(address, uploadID: upload.uploadID, query: ListPartsQuery())
            _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: one.etag)], options: CompleteMultipartOptions())
            try expectEqual(try await C.get(backend, "mpcond", "k"), [2, 2], "replaced")
        },
        ConformanceCase("multipart: a repeated Complete of a completed upload answers the same, object untouched") { backend in
            _ = try await backend.createBucket("mprepeat", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "mprepeat", key: "k")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner))
            let one = try await part(backend, address, upload.uploadID, 1, [3, 3, 3])
            let parts = [CompletedPart(partNumber: 1, etag: "\"\(one.etag)\"")]
            let first = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
            let again = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
            try expectEqual(again.etag, first.etag, "same ETag")
            try expectEqual(again.lastModified, first.lastModified, "object not rewritten")
            try await expectS3Error(.noSuchUpload) {
                try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: "\"\(Hex.encode(MD5.hash([9])))\"")],
                                                          options: CompleteMultipartOptions())
            }
            _ = try await C.put(backend, "mprepeat", "k", [4])
            try await expectS3Error(.noSuchUpload) {
                try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
            }
            try expectEqual(try await C.get(backend, "mprepeat", "k"), [4], "a later write is not undone")
        },
        ConformanceCase("multipart: head reports the parts with the numbers they were uploaded with") { backend in
            _ = try await backend.createBucket("mpparts", owner: C.owner, region: "us-east-1")
            let address = ObjectAddress(bucket: "mpparts", key: "k")
            let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions(owner: C.owner, checksumAlgorithm: .crc32, checksumType: .composite))
            let first = try await part(backend, address, upload.uploadID, 2, Array(repeating: 1, count: 5 * 1024 * 1024), checksum: .crc32)
            let last = try await part(backend, address, upload.uploadID, 7, [2, 2], checksum: .crc32)
            _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [first, last].map {
                CompletedPart(partNumber: $0.partNumber, etag: $0.etag, checksums: [.crc32: Base64.encode($0.checksumValue!)])
            }, options: CompleteMultipartOptions())
            let head = try await backend.headObject(address, options: GetObjectOptions())
            try expectEqual(head.parts, [ObjectPart(partNumber: 2, size: 5 * 1024 * 1024, checksum: first.checksumValue),
                                         ObjectPart(partNumber: 7, size: 2, checksum: last.checksumValue)], "parts")
            // partNumber reads name parts the same way: 7 is the second part, 1 is none.
            let seventh = try await backend.getObject(address, options: GetObjectOptions(partNumber: 7))
            try expectEqual(seventh.range, ByteRange(first: 5 * 1024 * 1024, last: 5 * 1024 * 1024 + 1), "part 7's bytes")
            try await expectS3Error(.invalidPart) { try await backend.getObject(address, options: GetObjectOptions(partNumber: 1)) }
            _ = try await C.put(backend, "mpparts", "single", [1])
            try expectEqual(try await backend.headObject(ObjectAddress(bucket: "mpparts", key: "single"), options: GetObjectOptions()).parts, [], "single-part")
        },
        ConformanceCase("conditional put: If-None-Match with an ETag, If-Match on a missing key") { backend in
            _ = try await backend.createBucket("cput", owner: C.owner, region: "us-east-1")
            let info = try await C.put(backend, "cput", "k", [1])
            let address = ObjectAddress(bucket: "cput", key: "k")
            try await expectS3Error(.preconditionFailed) {
                _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: [2])),
                                                options: PutObjectOptions(owner: C.owner, conditions: WriteConditions(ifNoneMatch: [info.quotedETag])))
            }
            _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: [3])),
                                            options: PutObjectOptions(owner: C.owner, conditions: WriteConditions(ifNoneMatch: ["\"other\""])))
            try expectEqual(try await C.get(backend, "cput", "k"), [3], "non-matching If-None-Match writes")
            try await expectS3Error(.noSuchKey) {
                _ = try await backend.putObject(ObjectAddress(bucket: "cput", key: "absent"), body: S3Body(ByteBuffer(bytes: [4])),
                                                options: PutObjectOptions(owner: C.owner, conditions: WriteConditions(ifMatch: ["*"])))
            }
        },
        ConformanceCase("conditional delete: If-Match deletes only the matching object") { backend in
            _ = try await backend.createBucket("cdel", owner: C.owner, region: "us-east-1")
            let info = try await C.put(backend, "cdel", "k", [1])
            let address = ObjectAddress(bucket: "cdel", key: "k")
            try await expectS3Error(.preconditionFailed) { try await backend.deleteObject(address, conditions: WriteConditions(ifMatch: ["\"other\""])) }
            try await expectS3Error(.noSuchKey) { try await backend.deleteObject(ObjectAddress(bucket: "cdel", key: "missing"), conditions: WriteConditions(ifMatch: ["*"])) }
            try await backend.deleteObject(address, conditions: WriteConditions(ifMatch: [info.quotedETag]))
            try await expectS3Error(.noSuchKey) { try await C.get(backend, "cdel", "k") }
        },
    ]
}
