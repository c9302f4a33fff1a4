import NIOCore
public import StowageCore

/// Multipart uploads. An upload lives in its bucket (so it goes with the bucket) and keeps its
/// parts by number; re-uploading a part replaces it. Completion validates and derives the ETag
/// and checksum with the shared `MultipartCompletion` rules, concatenates the parts outside the
/// lock, and commits the object and the upload's removal in one critical section.
extension InMemoryBackend {
    // MARK: Create

    public func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo {
        let random = Hex.encode(SecureRandom.bytes(8))
        return try withOpenStorage { storage in
            // A zero-padded counter first: listing one key's uploads by id lists them in
            // initiation order, as S3 does. The random tail keeps ids unguessable.
            let uploadID = Self.paddedHex(storage.nextSequence()) + random
            let info = MultipartUploadInfo(
                key: address.key, uploadID: uploadID, initiated: .now, ownerID: options.owner.canonicalUserID,
                storageClass: options.storageClass, checksumAlgorithm: options.checksumAlgorithm, checksumType: options.checksumType
            )
            try storage.modifyBucket(address.bucket) { $0.uploads[uploadID] = StoredUpload(info: info, metadata: options.metadata) }
            return info
        }
    }

    static func paddedHex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    // MARK: Parts

    public func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo {
        let upload = try withOpenStorage { try $0.bucket(address.bucket).upload(uploadID, key: address.key).info }
        if let required = upload.checksumAlgorithm {
            let sent = options.checksum?.algorithm
            // S3 requires each part's checksum for COMPOSITE uploads (the object checksum is built
            // from them); for FULL_OBJECT uploads a missing one is computed here.
            if sent != nil && sent != required || (sent == nil && upload.checksumType != .fullObject) {
                throw S3Error(.invalidRequest, message: "Checksum Type mismatch occurred, expected checksum Type: \(required.rawValue.lowercased()), actual checksum Type: \(sent?.rawValue.lowercased() ?? "null")")
            }
        }
        let received = try await Self.receive(body, maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5)
        var checksum: (algorithm: ChecksumAlgorithm, value: [UInt8])?
        if let sent = options.checksum {
            checksum = sent.value.map { (sent.algorithm, $0) }
        } else if let algorithm = upload.checksumAlgorithm {
            checksum = (algorithm, Self.checksum(algorithm, received.content))
        }
        let part = PartInfo(partNumber: partNumber, etag: Hex.encode(received.md5), size: Int64(received.content.readableBytes),
                            lastModified: .now, checksum: checksum)
        try storePart(part, content: received.content, uploadID: uploadID, address: address)
        return part
    }

    public func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo {
        let (upload, object) = try withOpenStorage { storage in
            let bucket = try storage.bucket(address.bucket)
            let sourceBucket = try storage.bucket(source.bucket)
            let upload = try bucket.upload(uploadID, key: address.key).info
            guard let object = sourceBucket.objects[source.key] else { throw S3Error(.noSuchKey).with("Key", source.key) }
            return (upload, object)
        }
        try options.sourceConditions.enforceForCopySource(on: object.info)
        let size = object.info.size
        let range = options.range ?? ByteRange(first: 0, last: size - 1)
        guard options.range == nil || (range.first >= 0 && range.first <= range.last && range.last < size) else {
            throw S3Error(.invalidRange, message: "The requested range is not satisfiable").with("ActualObjectSize", "\(size)")
        }
        let length = max(0, range.count)
        guard length <= options.maxSize else {
            throw S3Error(.entityTooLarge).with("ProposedSize", "\(length)").with("MaxSizeAllowed", "\(options.maxSize)")
        }
        let content = object.content.getSlice(at: object.content.readerIndex + Int(range.first), length: Int(length))!
        let part = PartInfo(partNumber: partNumber, etag: Hex.encode(Self.md5(content)), size: length, lastModified: .now,
                            checksum: upload.checksumAlgorithm.map { ($0, Self.checksum($0, content)) })
        try storePart(part, content: content, uploadID: uploadID, address: address)
        return part
    }

    /// Stores a part, replacing an earlier one with its number; `NoSuchUpload` when the upload
    /// was completed or aborted while the body streamed in.
    private func storePart(_ part: PartInfo, content: ByteBuffer, uploadID: String, address: ObjectAddress) throws {
        try withOpenStorage { storage in
            let revision = storage.nextSequence()
            try storage.modifyBucket(address.bucket) { bucket in
                try bucket.modifyUpload(uploadID, key: address.key) { upload in
                    upload.parts[part.partNumber] = StoredPart(info: part, content: content, revision: revision)
                }
            }
        }
    }

    // MARK: Complete

    public func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, parts requested: [CompletedPart], options: CompleteMultipartOptions) async throws -> ObjectInfo {
        enum Found { case upload(StoredUpload), repeated(ObjectInfo) }
        let found = try withOpenStorage { storage -> Found in
            let bucket = try storage.bucket(address.bucket)
            guard !requested.isEmpty else {
                throw S3Error(.malformedXML, message: "The XML you provided was not well-formed or did not validate against our published schema")
            }
            do {
                return .upload(try bucket.upload(uploadID, key: address.key))
            } catch let error as S3Error where error.code == .noSuchUpload {
                // A retried Complete of the upload that made the current object: same answer.
                guard let object = bucket.objects[address.key],
                      MultipartCompletion.isRepeat(of: uploadID, requested: requested, completedUpload: object.uploadID, etag: object.info.etag)
                else { throw error }
                return .repeated(object.info)
            }
        }
        let upload: StoredUpload
        switch found {
        case .upload(let stored): upload = stored
        case .repeated(let info): return info
        }
        let chosen = try MultipartCompletion.select(requested: requested, stored: Array(upload.parts.values), partInfo: \.info, upload: upload.info)
        let checksum = try MultipartCompletion.checksum(upload: upload.info, parts: chosen.map(\.info), options: options)
        let size = chosen.reduce(Int64(0)) { $0 + $1.info.size }
        var content = ByteBufferAllocator().buffer(capacity: Int(size))
        for part in chosen {
            var bytes = part.content
            content.writeBuffer(&bytes)
        }
        let info = ObjectInfo(
            key: address.key, size: size, etag: MultipartCompletion.etag(chosen.map(\.info)), lastModified: .now,
            metadata: upload.metadata, storageClass: upload.info.storageClass, ownerID: upload.info.ownerID,
            partCount: chosen.count, checksum: checksum
        )
        let object = StoredObject(
            info: info, content: content,
            parts: chosen.map { ObjectPart(partNumber: $0.info.partNumber, size: $0.info.size, checksum: $0.info.checksum?.value) },
            uploadID: uploadID
        )
        try commit(object, bucket: address.bucket, conditions: options.conditions) { bucket in
            // The upload must still exist, with the very parts that were assembled. On any
            // failure nothing changes: the upload stays for another Complete.
            let current = try bucket.upload(uploadID, key: address.key)
            guard chosen.allSatisfy({ current.parts[$0.info.partNumber]?.revision == $0.revision }) else {
                throw S3Error(.conditionalRequestConflict, message: "A part was replaced while the upload was being completed; complete it again.")
            }
            bucket.uploads[uploadID] = nil
        }
        return info
    }

    // MARK: Abort, list, expire

    public func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws {
        try withOpenStorage { storage in
            try storage.modifyBucket(address.bucket) { bucket in
                _ = try bucket.upload(uploadID, key: address.key)
                bucket.uploads[uploadID] = nil
            }
        }
    }

    public func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage {
        let upload = try withOpenStorage { try $0.bucket(address.bucket).upload(uploadID, key: address.key) }
        let maxParts = max(0, query.maxParts)
        let following = upload.parts.values.map(\.info).filter { $0.partNumber > query.partNumberMarker }.sorted { $0.partNumber < $1.partNumber }
        let page = Array(following.prefix(maxParts))
        return ListPartsPage(upload: upload.info, parts: page, isTruncated: following.count > maxParts, nextPartNumberMarker: page.last?.partNumber)
    }

    public func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage {
        let uploads = try withOpenStorage { try $0.bucket(bucket).uploads.values.map(\.info) }
        return Listing.uploads(uploads, query: query)
    }

    public func expireMultipartUploads(initiatedBefore cutoff: S3Timestamp) async throws -> Int {
        try withOpenStorage { storage in
            var expired = 0
            for name in Array(storage.buckets.keys) {
                try storage.modifyBucket(name) { bucket in
                    let kept = bucket.uploads.filter { $0.value.info.initiated >= cutoff }
                    expired += bucket.uploads.count - kept.count
                    bucket.uploads = kept
                }
            }
            return expired
        }
    }
}
