import Foundation
import GRDB
public import StowageCore
import StowageLocalFiles

/// CopyObject (onto itself with REPLACE: metadata only) and PutObjectAcl.
extension FileStoreBackend {
    public func copyObject(from source: ObjectAddress, to destination: ObjectAddress, options: CopyObjectOptions) async throws -> ObjectInfo {
        let state = try openState()
        try requireSpaceReserve(state)
        let sourceBucket = try bucketRecord(source.bucket)
        let destinationBucket = try bucketRecord(destination.bucket)

        if source == destination && options.metadataDirective == .replace {
            return try await replaceMetadata(of: destination, bucket: destinationBucket, options: options, state: state)
        }

        let (record, descriptor) = try await openObject(source, bucket: sourceBucket, state: state) { record in
            try options.sourceConditions.enforceForCopySource(on: record.info)
        }
        guard record.size <= options.maxSize else {
            throw S3Error(.invalidRequest, message: "The specified copy source is larger than the maximum allowable size for a copy source: \(options.maxSize)")
        }
        let temp = try mapErrors { try TempFile.create(in: state.tempFD) }
        do {
            // A copy is a single-part object, as on S3. A multipart source's ETag ("…-N") and
            // composite checksum describe its parts, so those are recomputed over the bytes
            // while copying; otherwise the kernel copies and the values carry over.
            var etag = record.etag
            var checksum = record.checksum
            if record.partCount > 0 {
                let md5 = StreamingDigest(.md5)
                let hasher = record.checksum.map { ChecksumHasher($0.algorithm) }
                try await Offload.run(record.size >= Offload.threshold) {
                    try mapErrors {
                        _ = try descriptor.withDescriptor { fd in
                            try POSIXFiles.copyObserving(from: fd, offset: 0, length: record.size, to: temp.descriptor) { bytes in
                                md5.update(bytes)
                                hasher?.update(bytes)
                            }
                        }
                    }
                }
                etag = Hex.encode(md5.finalize())
                checksum = hasher.map { ObjectChecksum(algorithm: $0.algorithm, value: $0.finalize(), type: .fullObject) }
            } else {
                try await Offload.run(record.size >= Offload.threshold) {
                    try mapErrors {
                        _ = try descriptor.withDescriptor { fd in try POSIXFiles.copyRange(from: fd, offset: 0, length: record.size, to: temp.descriptor) }
                    }
                }
            }
            descriptor.close()
            let inode = try mapErrors { try temp.finish(sync: self.options.fsync) }
            let copied = ObjectRecord(
                key: destination.key, size: record.size, etag: etag, modifiedMS: S3Timestamp.now.millisecondsSinceEpoch,
                inode: inode, ownerID: options.owner.canonicalUserID, storageClass: record.storageClass, partCount: 0,
                metadata: options.metadataDirective == .copy ? record.metadata.replacingACL(options.metadata.cannedACL) : options.metadata, pendingTemp: temp.name,
                checksum: checksum, parts: []
            )
            try await commit(copied, bucket: destinationBucket, conditions: options.destinationConditions, temp: temp, state: state)
            return copied.info
        } catch {
            temp.discard()
            throw error
        }
    }

    public func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        let index = state.index, cache = self.cache, bucketID = bucket.id
        try await submit(state) { db in
            guard var record = try index.object(bucketID: bucketID, key: address.key, db) else {
                throw S3Error(.noSuchKey).with("Key", address.key)
            }
            record.metadata.cannedACL = acl
            try index.upsert(record, bucketID: bucketID, db)
        } afterCommit: { _ in
            cache.invalidate(MetadataCacheKey(bucketID: bucketID, key: address.key))
        }
    }

    /// Copy onto itself with `REPLACE`: the bytes stay, the metadata and date change.
    private func replaceMetadata(of address: ObjectAddress, bucket: BucketRecord, options: CopyObjectOptions, state: OpenState) async throws -> ObjectInfo {
        let index = state.index, cache = self.cache, bucketID = bucket.id
        return try await submit(state) { db -> ObjectInfo in
            guard var record = try index.object(bucketID: bucketID, key: address.key, db) else {
                throw S3Error(.noSuchKey).with("Key", address.key)
            }
            try options.sourceConditions.enforceForCopySource(on: record.info)
            try options.destinationConditions.check(current: record.info)
            record.metadata = options.metadata
            record.modifiedMS = S3Timestamp.now.millisecondsSinceEpoch
            record.ownerID = options.owner.canonicalUserID
            try index.upsert(record, bucketID: bucketID, db)
            return record.info
        } afterCommit: { _ in
            cache.invalidate(MetadataCacheKey(bucketID: bucketID, key: address.key))
        }
    }
}
