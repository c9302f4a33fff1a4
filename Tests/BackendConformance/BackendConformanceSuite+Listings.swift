import NIOCore
import StowageCore

/// Listings, deletions, bucket configuration documents, concurrent readers and writers.
extension BackendConformanceSuite {
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
        ConformanceCase("a configuration write moves the bucket's configuration version, and only a write does") { backend in
            _ = try await backend.createBucket("versioned", owner: C.owner, region: "us-east-1")
            let first = try await backend.bucket("versioned").configurationVersion
            _ = try await C.put(backend, "versioned", "k", [1, 2, 3])
            try expectEqual(try await backend.bucket("versioned").configurationVersion, first, "object writes leave it")
            try await backend.setBucketConfiguration("versioned", kind: .cors, document: Array("<CORS/>".utf8))
            let second = try await backend.bucket("versioned").configurationVersion
            try expect(second != first, "a new document moves it")
            try await backend.setBucketConfiguration("versioned", kind: .cors, document: nil)
            let third = try await backend.bucket("versioned").configurationVersion
            try expect(third != second && third != first, "removing a document moves it again")
            // Deleted and re-created at once (often within the same millisecond): no version the
            // old bucket had may come back, or a cache would serve the old bucket's documents.
            try await backend.deleteObject(ObjectAddress(bucket: "versioned", key: "k"))
            try await backend.deleteBucket("versioned")
            _ = try await backend.createBucket("versioned", owner: C.owner, region: "us-east-1")
            try await backend.setBucketConfiguration("versioned", kind: .cors, document: Array("<CORS/>".utf8))
            let reborn = try await backend.bucket("versioned").configurationVersion
            try expect(![first, second, third].contains(reborn), "a re-created bucket's versions are new ones")
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
}
