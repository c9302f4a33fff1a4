import NIOCore
import StowageCore

/// Multipart uploads.
extension BackendConformanceSuite {
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
