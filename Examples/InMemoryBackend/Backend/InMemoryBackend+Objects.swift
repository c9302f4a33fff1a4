import NIOCore
public import StowageCore

/// PutObject, GetObject, HeadObject, DeleteObject, CopyObject, PutObjectAcl and ListObjects.
extension InMemoryBackend {
    // MARK: Writes

    public func putObject(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions) async throws -> ObjectInfo {
        // Fail fast, before reading the body; both checks are repeated at commit.
        try withOpenStorage { storage in
            let existing = try storage.bucket(address.bucket).objects[address.key]
            try options.conditions.check(current: existing?.info)
        }
        let received = try await Self.receive(body, maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5)
        // The body verified the client's checksum as it ended; its value is known only now.
        let checksum = options.checksum.flatMap { sent in sent.value.map { ObjectChecksum(algorithm: sent.algorithm, value: $0) } }
        let info = ObjectInfo(
            key: address.key, size: Int64(received.content.readableBytes), etag: Hex.encode(received.md5), lastModified: .now,
            metadata: options.metadata, ownerID: options.owner.canonicalUserID, checksum: checksum
        )
        try commit(StoredObject(info: info, content: received.content), bucket: address.bucket, conditions: options.conditions)
        return info
    }

    /// Stores `object` over whatever its key holds, if the write preconditions hold against the
    /// current object at this moment. `also` runs in the same critical section, before anything
    /// changes, and can veto the write by throwing.
    func commit(
        _ object: StoredObject, bucket: String, conditions: WriteConditions,
        also: (inout StoredBucket) throws -> Void = { _ in }
    ) throws {
        try withOpenStorage { storage in
            // `NoSuchBucket` here when the bucket was deleted while the body streamed in.
            try storage.modifyBucket(bucket) { bucket in
                try conditions.check(current: bucket.objects[object.info.key]?.info)
                try also(&bucket)
                bucket.objects.insert(object)
            }
        }
    }

    /// A request body read whole, with its MD5.
    struct ReceivedBody {
        var content: ByteBuffer
        var md5: [UInt8]
    }

    /// Reads `body` into memory through Core's `BodyIngest`, which makes the checks every
    /// backend must (size limit as it arrives, declared length, Content-MD5). Nothing is stored yet.
    static func receive(_ body: S3Body, maxSize: Int64, expectedSize: Int64?, contentMD5: [UInt8]?) async throws -> ReceivedBody {
        var ingest = BodyIngest(maxSize: maxSize, expectedSize: expectedSize, contentMD5: contentMD5)
        var content = ByteBuffer()
        for try await chunk in body {
            try ingest.take(chunk)
            content.writeImmutableBuffer(chunk)
        }
        return ReceivedBody(content: content, md5: try ingest.finish().md5)
    }

    static func md5(_ content: ByteBuffer) -> [UInt8] {
        let digest = StreamingDigest(.md5)
        content.withUnsafeReadableBytes { digest.update($0) }
        return digest.finalize()
    }

    static func checksum(_ algorithm: ChecksumAlgorithm, _ content: ByteBuffer) -> [UInt8] {
        let hasher = ChecksumHasher(algorithm)
        content.withUnsafeReadableBytes { hasher.update($0) }
        return hasher.finalize()
    }

    // MARK: Reads

    public func getObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        let object = try snapshot(address)
        // The snapshot is immutable, so checking it after the lock is released is as atomic as
        // checking under it: the conditions and the bytes describe the same write.
        try options.conditions.enforce(on: object.info)
        let range = try options.servedRange(size: object.info.size, parts: object.parts)
        let content = range.map { object.content.getSlice(at: object.content.readerIndex + Int($0.first), length: Int($0.count))! } ?? object.content
        return ObjectReadResult(info: object.info, range: range, content: .bytes(content), partChecksum: options.partChecksum(parts: object.parts, objectChecksum: object.info.checksum))
    }

    public func headObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        let object = try snapshot(address)
        try options.conditions.enforce(on: object.info)
        return ObjectReadResult(info: object.info, range: try options.servedRange(size: object.info.size, parts: object.parts), content: .none,
                                partChecksum: options.partChecksum(parts: object.parts, objectChecksum: object.info.checksum),
                                parts: object.parts)
    }

    /// The object as stored now; `NoSuchBucket` or `NoSuchKey`.
    func snapshot(_ address: ObjectAddress) throws -> StoredObject {
        try withOpenStorage { storage in
            guard let object = try storage.bucket(address.bucket).objects[address.key] else {
                throw S3Error(.noSuchKey).with("Key", address.key)
            }
            return object
        }
    }

    // MARK: Deletes

    public func deleteObject(_ address: ObjectAddress, conditions: WriteConditions) async throws {
        try withOpenStorage { storage in
            try storage.modifyBucket(address.bucket) { bucket in
                if !conditions.isEmpty { try conditions.check(current: bucket.objects[address.key]?.info) }
                bucket.objects.remove(address.key)
            }
        }
    }

    // MARK: Copies

    public func copyObject(from source: ObjectAddress, to destination: ObjectAddress, options: CopyObjectOptions) async throws -> ObjectInfo {
        // `==` on addresses compares key bytes, so `café` never replaces `cafe\u{301}`'s metadata.
        if source == destination && options.metadataDirective == .replace {
            return try replaceMetadata(of: destination, options: options)
        }
        let original = try withOpenStorage { storage in
            _ = try storage.bucket(destination.bucket)
            guard let object = try storage.bucket(source.bucket).objects[source.key] else {
                throw S3Error(.noSuchKey).with("Key", source.key)
            }
            return object
        }
        try options.sourceConditions.enforceForCopySource(on: original.info)
        guard original.info.size <= options.maxSize else {
            throw S3Error(.invalidRequest, message: "The specified copy source is larger than the maximum allowable size for a copy source: \(options.maxSize)")
        }
        // A copy is a single-part object, as on S3. A multipart source's ETag ("…-N") and
        // composite checksum describe its parts, so they are recomputed over the bytes.
        var etag = original.info.etag
        var checksum = original.info.checksum
        if original.info.partCount > 0 {
            etag = Hex.encode(Self.md5(original.content))
            checksum = original.info.checksum.map {
                ObjectChecksum(algorithm: $0.algorithm, value: Self.checksum($0.algorithm, original.content), type: .fullObject)
            }
        }
        let info = ObjectInfo(
            key: destination.key, size: original.info.size, etag: etag, lastModified: .now,
            // A copy never takes the source's ACL, only the one the request names.
            metadata: options.metadataDirective == .copy ? original.info.metadata.replacingACL(options.metadata.cannedACL) : options.metadata,
            storageClass: original.info.storageClass, ownerID: options.owner.canonicalUserID, checksum: checksum
        )
        // The buffer is shared, not copied: stored bytes are never mutated.
        try commit(StoredObject(info: info, content: original.content), bucket: destination.bucket, conditions: options.destinationConditions)
        return info
    }

    /// Copy onto itself with `REPLACE`: the bytes stay, the metadata, owner and date change.
    private func replaceMetadata(of address: ObjectAddress, options: CopyObjectOptions) throws -> ObjectInfo {
        try withOpenStorage { storage in
            try storage.modifyBucket(address.bucket) { bucket in
                try bucket.objects.modify(address.key) { object in
                    try options.sourceConditions.enforceForCopySource(on: object.info)
                    try options.destinationConditions.check(current: object.info)
                    object.info.metadata = options.metadata
                    object.info.lastModified = .now
                    object.info.ownerID = options.owner.canonicalUserID
                    return object.info
                }
            }
        }
    }

    // MARK: Access control

    public func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws {
        try withOpenStorage { storage in
            try storage.modifyBucket(address.bucket) { bucket in
                try bucket.objects.modify(address.key) { $0.info.metadata.cannedACL = acl }
            }
        }
    }

    // MARK: Listing

    public func listObjects(bucket: String, query: ListObjectsQuery) async throws -> ListObjectsPage {
        // Listed under the lock: a page costs O(maxKeys · log n), and a snapshot taken out of
        // the lock would make the next write copy the whole table.
        try withOpenStorage { storage in
            Listing.objects(in: try storage.bucket(bucket).objects, query: query)
        }
    }
}
