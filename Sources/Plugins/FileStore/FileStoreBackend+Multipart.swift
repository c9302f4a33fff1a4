import Foundation
import GRDB
import Synchronization
public import StowageCore
import StowageLocalFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Multipart uploads. Each upload is a row in `uploads` and a directory
/// `.stowage/multipart/<upload id>/` holding one file per part (`<number>.<random>`); the `parts`
/// table names the current file of each part, so re-uploading a part swaps files atomically.
/// Completion concatenates the part files inside the kernel into a temp file and commits it
/// like a PUT, deleting the upload in the same transaction.
extension FileStoreBackend {
    static let multipartDirectory = ".stowage/multipart"

    // MARK: Create

    public func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        // Time-ordered ids: listing uploads of one key by id lists them by initiation, as S3 does.
        let now = S3Timestamp.now
        let sequence = uploadSequence.wrappingAdd(1, ordering: .relaxed).newValue & 0xFFFF
        let uploadID = String(UInt64(now.millisecondsSinceEpoch), radix: 16).leftPadded(to: 12)
            + String(sequence, radix: 16).leftPadded(to: 4) + Hex.encode(SecureRandom.bytes(8))
        let info = MultipartUploadInfo(
            key: address.key, uploadID: uploadID, initiated: now, ownerID: options.owner.canonicalUserID,
            storageClass: options.storageClass, checksumAlgorithm: options.checksumAlgorithm, checksumType: options.checksumType
        )
        try mapErrors {
            try POSIXFiles.makeDirectory(at: state.rootFD, Self.multipartDirectory)
            try POSIXFiles.makeDirectory(at: state.rootFD, Self.multipartDirectory + "/" + uploadID)
            do {
                try state.index.write { db in try ObjectIndex.insertUpload(info, bucketID: bucket.id, metadata: options.metadata, db) }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw S3Error(.noSuchBucket).with("BucketName", bucket.info.name)
            }
        }
        return info
    }

    func upload(_ uploadID: String, address: ObjectAddress, bucket: BucketRecord, _ db: Database) throws -> UploadRecord {
        guard let found = try ObjectIndex.upload(uploadID, db), found.record.bucketID == bucket.id, found.key == Array(address.key.utf8) else {
            throw S3Error(.noSuchUpload).with("UploadId", uploadID)
        }
        return found.record
    }

    func uploadDirectory(_ uploadID: String) -> String { Self.multipartDirectory + "/" + uploadID }

    // MARK: Parts

    public func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo {
        let state = try openState()
        try requireSpaceReserve(state)
        let bucket = try bucketRecord(address.bucket)
        let upload = try mapErrors { try state.index.read { db in try self.upload(uploadID, address: address, bucket: bucket, db) } }
        if let required = upload.info.checksumAlgorithm {
            let sent = options.checksum?.algorithm
            // S3 requires each part's checksum for COMPOSITE uploads (the object checksum is built
            // from them); for FULL_OBJECT uploads a missing one is computed here.
            if sent != nil && sent != required || (sent == nil && upload.info.checksumType != .fullObject) {
                throw S3Error(.invalidRequest, message: "Checksum Type mismatch occurred, expected checksum Type: \(required.rawValue.lowercased()), actual checksum Type: \(sent?.rawValue.lowercased() ?? "null")")
            }
        }
        // A FULL_OBJECT upload promises per-part CRCs: compute one when the client sent none.
        let computed = options.checksum == nil ? upload.info.checksumAlgorithm : nil
        let temp = try mapErrors { try TempFile.create(in: state.tempFD) }
        do {
            // A body of unknown length (chunked transfer) may be large.
            let large = Offload.isHeavy(declaredSize: options.expectedSize)
            let ingest = BodyIngest(maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5, computing: computed)
            let written = try await Offload.run(large) {
                try await temp.write(body: body, ingest: ingest, overlapped: large)
            }
            _ = try mapErrors { try temp.finish(sync: self.options.fsync) }
            var checksum: (algorithm: ChecksumAlgorithm, value: [UInt8])?
            if let sent = options.checksum, let value = sent.value { checksum = (sent.algorithm, value) }
            if let computed, let value = written.checksum { checksum = (computed, value) }
            let part = PartInfo(partNumber: partNumber, etag: Hex.encode(written.md5), size: written.size,
                                lastModified: .now, checksum: checksum)
            try storePart(part, temp: temp, uploadID: uploadID, address: address, bucket: bucket, state: state)
            return part
        } catch {
            temp.discard()
            throw error
        }
    }

    public func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo {
        let state = try openState()
        try requireSpaceReserve(state)
        let bucket = try bucketRecord(address.bucket)
        let sourceBucket = try bucketRecord(source.bucket)
        let upload = try mapErrors { try state.index.read { db in try self.upload(uploadID, address: address, bucket: bucket, db) } }
        let (record, descriptor) = try await openObject(source, bucket: sourceBucket, state: state) { record in
            try options.sourceConditions.enforceForCopySource(on: record.info)
        }
        let range = options.range ?? ByteRange(first: 0, last: record.size - 1)
        guard options.range == nil || (range.first <= range.last && range.last < record.size) else {
            throw S3Error(.invalidRange, message: "The requested range is not satisfiable")
                .with("ActualObjectSize", "\(record.size)")
        }
        let length = max(0, range.count)
        guard length <= options.maxSize else {
            throw S3Error(.entityTooLarge).with("ProposedSize", "\(length)").with("MaxSizeAllowed", "\(options.maxSize)")
        }
        let temp = try mapErrors { try TempFile.create(in: state.tempFD) }
        do {
            let md5 = StreamingDigest(.md5)
            let hasher = upload.info.checksumAlgorithm.map(ChecksumHasher.init)
            try await Offload.run(length >= Offload.threshold) {
                try mapErrors {
                    _ = try descriptor.withDescriptor { fd in
                        try POSIXFiles.copyObserving(from: fd, offset: range.first, length: length, to: temp.descriptor) { bytes in
                            md5.update(bytes)
                            hasher?.update(bytes)
                        }
                    }
                }
            }
            descriptor.close()
            _ = try mapErrors { try temp.finish(sync: self.options.fsync) }
            let part = PartInfo(partNumber: partNumber, etag: Hex.encode(md5.finalize()), size: length, lastModified: .now,
                                checksum: hasher.map { ($0.algorithm, $0.finalize()) })
            try storePart(part, temp: temp, uploadID: uploadID, address: address, bucket: bucket, state: state)
            return part
        } catch {
            temp.discard()
            throw error
        }
    }

    /// Moves a finished temp file into the upload's directory under a fresh name and points the
    /// part's row at it; the file it replaces is removed after the commit.
    private func storePart(_ part: PartInfo, temp: TempFile, uploadID: String, address: ObjectAddress, bucket: BucketRecord, state: OpenState) throws {
        let file = "\(part.partNumber).\(Hex.encode(SecureRandom.bytes(6)))"
        let directory = uploadDirectory(uploadID)
        let uploadFD: CInt
        do {
            uploadFD = try POSIXFiles.openDirectory(at: state.rootFD, directory)
        } catch let failure as POSIXFiles.Failure where failure.code == ENOENT {
            throw S3Error(.noSuchUpload).with("UploadId", uploadID)
        } catch {
            throw try mapErrors { throw error }
        }
        defer { POSIXFiles.closeDescriptor(uploadFD) }
        try mapErrors {
            guard try POSIXFiles.rename(from: state.tempFD, temp.name, to: uploadFD, file) else {
                throw S3Error(.noSuchUpload).with("UploadId", uploadID)
            }
        }
        temp.committed = true
        do {
            let replaced = try commitLocks.withLock(bucketID: -1, key: uploadID) {
                try mapErrors {
                    try state.index.write { db -> String? in
                        _ = try self.upload(uploadID, address: address, bucket: bucket, db)
                        return try ObjectIndex.upsertPart(part, uploadID: uploadID, file: file, db)
                    }
                }
            }
            if let replaced { try? POSIXFiles.unlinkFile(at: uploadFD, replaced) }
        } catch {
            try? POSIXFiles.unlinkFile(at: uploadFD, file)
            throw error
        }
    }

    // MARK: Complete

    public func completeMultipartUpload(_ address: ObjectAddress, uploadID: String, parts requested: [CompletedPart], options: CompleteMultipartOptions) async throws -> ObjectInfo {
        let state = try openState()
        try requireSpaceReserve(state)
        let bucket = try bucketRecord(address.bucket)
        guard !requested.isEmpty else {
            throw S3Error(.malformedXML, message: "The XML you provided was not well-formed or did not validate against our published schema")
        }
        // Snapshot the upload and open the chosen part files under the upload's lock, so a
        // concurrent re-upload of a part cannot swap a file out from under the copy.
        let snapshot: (UploadRecord, [StoredPart], [OwnedFileDescriptor])
        do {
            snapshot = try completionSnapshot(address, uploadID: uploadID, requested: requested, bucket: bucket, state: state)
        } catch let error as S3Error where error.code == .noSuchUpload {
            if let info = try repeatedCompletion(address, uploadID: uploadID, requested: requested, bucket: bucket, state: state) { return info }
            throw error
        }
        let (upload, chosen, descriptors) = snapshot
        let checksum = try MultipartCompletion.checksum(upload: upload.info, parts: chosen.map(\.info), options: options)
        let etag = MultipartCompletion.etag(chosen.map(\.info))
        let size = chosen.reduce(Int64(0)) { $0 + $1.info.size }

        let temp = try mapErrors { try TempFile.create(in: state.tempFD) }
        do {
            try await Offload.run(size >= Offload.threshold) {
                try mapErrors {
                    for (part, descriptor) in zip(chosen, descriptors) {
                        _ = try descriptor.withDescriptor { fd in try POSIXFiles.copyRange(from: fd, offset: 0, length: part.info.size, to: temp.descriptor) }
                        descriptor.close()
                    }
                }
            }
            let inode = try mapErrors { try temp.finish(sync: self.options.fsync) }
            let record = ObjectRecord(
                key: address.key, size: size, etag: etag, modifiedMS: S3Timestamp.now.millisecondsSinceEpoch, inode: inode,
                ownerID: upload.info.ownerID, storageClass: upload.info.storageClass, partCount: chosen.count,
                metadata: upload.metadata, pendingTemp: temp.name, checksum: checksum,
                parts: chosen.map { ObjectPart(partNumber: $0.info.partNumber, size: $0.info.size, checksum: $0.info.checksum?.value) },
                uploadID: uploadID
            )
            try await commit(record, bucket: bucket, conditions: options.conditions, temp: temp, state: state) { db in
                // The upload must still exist with the parts that were copied.
                let now = try ObjectIndex.storedParts(uploadID, db)
                let files = Dictionary(uniqueKeysWithValues: now.map { ($0.info.partNumber, $0.file) })
                guard try ObjectIndex.uploadExists(uploadID, db) else {
                    throw S3Error(.noSuchUpload).with("UploadId", uploadID)
                }
                guard chosen.allSatisfy({ files[$0.info.partNumber] == $0.file }) else {
                    throw S3Error(.conditionalRequestConflict, message: "A part was replaced while the upload was being completed; complete it again.")
                }
                try ObjectIndex.deleteUpload(uploadID, db)
            }
            removeUploadDirectory(uploadID, state: state)
            return record.info
        } catch {
            temp.discard()
            // The same upload completed by a retry racing this one: both get its answer.
            if let failure = error as? S3Error, failure.code == .noSuchUpload,
               let info = try repeatedCompletion(address, uploadID: uploadID, requested: requested, bucket: bucket, state: state) {
                return info
            }
            throw error
        }
    }

    /// A retried Complete of an upload that already completed (SDKs retry after a lost answer)
    /// gets the same answer, as long as the object is still the one that upload made.
    private func repeatedCompletion(_ address: ObjectAddress, uploadID: String, requested: [CompletedPart],
                                    bucket: BucketRecord, state: OpenState) throws -> ObjectInfo? {
        guard let record = try mapErrors({ try state.index.object(bucketID: bucket.id, key: address.key) }),
              MultipartCompletion.isRepeat(of: uploadID, requested: requested, completedUpload: record.uploadID, etag: record.etag)
        else { return nil }
        return record.info
    }

    /// The upload, the parts `requested` chooses, and their files opened, under the upload's lock.
    private func completionSnapshot(
        _ address: ObjectAddress, uploadID: String, requested: [CompletedPart], bucket: BucketRecord, state: OpenState
    ) throws -> (UploadRecord, [StoredPart], [OwnedFileDescriptor]) {
        try commitLocks.withLock(bucketID: -1, key: uploadID) {
            try mapErrors { () -> (UploadRecord, [StoredPart], [OwnedFileDescriptor]) in
                let (upload, stored) = try state.index.read { db in
                    (try self.upload(uploadID, address: address, bucket: bucket, db), try ObjectIndex.storedParts(uploadID, db))
                }
                let chosen = try MultipartCompletion.select(requested: requested, stored: stored, partInfo: \.info, upload: upload.info)
                let uploadFD = try POSIXFiles.openDirectory(at: state.rootFD, uploadDirectory(uploadID))
                defer { POSIXFiles.closeDescriptor(uploadFD) }
                let descriptors = try chosen.map { part -> OwnedFileDescriptor in
                    guard let fd = try POSIXFiles.openForReading(at: uploadFD, part.file) else {
                        throw S3Error(.invalidPart).with("PartNumber", "\(part.info.partNumber)")
                    }
                    return OwnedFileDescriptor(fd)
                }
                return (upload, chosen, descriptors)
            }
        }
    }

    // MARK: Abort, list, expire

    public func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        try await freeingSpace(state) {
            try commitLocks.withLock(bucketID: -1, key: uploadID) {
                try mapErrors {
                    try state.index.write { db in
                        _ = try self.upload(uploadID, address: address, bucket: bucket, db)
                        try ObjectIndex.deleteUpload(uploadID, db)
                    }
                }
            }
        }
        removeUploadDirectory(uploadID, state: state)
    }

    func removeUploadDirectory(_ uploadID: String, state: OpenState) {
        let path = uploadDirectory(uploadID)
        guard let fd = try? POSIXFiles.openDirectory(at: state.rootFD, path) else { return }
        try? POSIXFiles.removeContents(of: fd)
        POSIXFiles.closeDescriptor(fd)
        _ = path.withCString { unlinkat(state.rootFD, $0, AT_REMOVEDIR) }
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
