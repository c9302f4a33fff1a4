import NIOCore
import StowageCore

/// Preconditions and copies.
extension BackendConformanceSuite {
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
}
