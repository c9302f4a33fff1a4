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
}
