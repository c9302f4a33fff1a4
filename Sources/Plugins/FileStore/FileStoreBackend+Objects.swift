import Foundation
import GRDB
import NIOCore
public import StowageCore
import StowageLocalFiles
import StowageSQLiteIndex
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

/// PutObject, GetObject, HeadObject, DeleteObject(s), CopyObject.
extension FileStoreBackend {
    /// How often a reader retries when a writer of the same key is between commit and rename.
    static let readAttempts = 50

    public func putObject(_ address: ObjectAddress, body: S3Body, options: PutObjectOptions) async throws -> ObjectInfo {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        try requireSpaceReserve(state)
        // Fail fast before reading the body; checked again atomically at commit.
        if !options.conditions.isEmpty {
            try options.conditions.check(current: try mapErrors({ try state.index.object(bucketID: bucket.id, key: address.key) })?.info)
        }
        let temp = try mapErrors { try TempFile.create(in: state.tempFD) }
        do {
            // A body of unknown length (chunked transfer) may be large.
            let large = Offload.isHeavy(declaredSize: options.expectedSize)
            let ingest = BodyIngest(maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5)
            let written = try await Offload.run(large) {
                try await temp.write(body: body, ingest: ingest, overlapped: large)
            }
            let inode = try mapErrors { try temp.finish(sync: self.options.fsync) }
            let record = ObjectRecord(
                key: address.key, size: written.size, etag: Hex.encode(written.md5), modifiedMS: S3Timestamp.now.millisecondsSinceEpoch,
                inode: inode, ownerID: options.owner.canonicalUserID, storageClass: "STANDARD", partCount: 0,
                metadata: options.metadata, pendingTemp: temp.name,
                checksum: options.checksum.flatMap { checksum in checksum.value.map { ObjectChecksum(algorithm: checksum.algorithm, value: $0) } }
            )
            try await commit(record, bucket: bucket, conditions: options.conditions, temp: temp, state: state)
            return record.info
        } catch {
            temp.discard()
            throw error
        }
    }

    /// Commits a finished temp file as `record` through the commit queue: the row (checked
    /// against the write preconditions) in the next batch's transaction, then, on the committer
    /// thread and in commit order, the rename into place.
    func commit(
        _ record: ObjectRecord, bucket: BucketRecord, conditions: WriteConditions, temp: TempFile, state: OpenState,
        alsoInTransaction: (@Sendable (Database) throws -> Void)? = nil
    ) async throws {
        let relative = KeyPathMapper.relativePath(for: record.key)
        let parents = KeyPathMapper.parentDirectories(of: relative)
        let directory = try bucketDirectory(bucket, state: state)
        try mapErrors { try POSIXFiles.makeDirectories(at: directory.fd, parents) }
        let index = state.index, tempFD = state.tempFD, cache = self.cache, logger = self.logger, durable = options.fsync
        let bucketID = bucket.id, bucketName = bucket.info.name, tempName = temp.name
        try await submit(state) { db in
            do {
                if !conditions.isEmpty {
                    try conditions.check(current: try index.object(bucketID: bucketID, key: record.key, db)?.info)
                }
                try alsoInTransaction?(db)
                try index.upsert(record, bucketID: bucketID, db)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                // The bucket was deleted while the body streamed in.
                throw S3Error(.noSuchBucket).with("BucketName", bucketName)
            }
        } afterCommit: { _ in
            // Committed. From here on the temp file belongs to the index: a failure leaves it for
            // readers (through the `pending` table) and for start-up recovery, never deleted.
            defer { cache.invalidate(MetadataCacheKey(bucketID: bucketID, key: record.key)) }
            do {
                try withExtendedLifetime(directory) {
                    var attempts = 0
                    while try !POSIXFiles.rename(from: tempFD, tempName, to: directory.fd, relative) {
                        attempts += 1
                        guard attempts < 16 else { throw POSIXFiles.Failure(operation: "rename", path: relative, code: ENOENT) }
                        try POSIXFiles.makeDirectories(at: directory.fd, parents)
                    }
                    if durable { try Self.syncParent(of: relative, bucketFD: directory.fd) }
                }
                index.settle(.renamed(bucketID: bucketID, key: record.key, temp: tempName))
            } catch {
                logger.error("rename after commit failed; the object stays readable and start-up finishes the rename",
                             metadata: ["key": "\(record.key)", "error": "\(error)"])
            }
        }
        temp.committed = true
    }

    /// Submits to the commit queue, turning index failures into S3 errors.
    func submit<T: Sendable>(_ state: OpenState, _ transact: @escaping @Sendable (Database) throws -> T,
                             afterCommit: @escaping @Sendable (T) -> Void = { _ in }) async throws -> T {
        do {
            return try await state.committer.submit(transact, afterCommit: afterCommit)
        } catch let error as DatabaseError {
            throw s3Error(error)
        } catch is GroupCommitQueue.ServiceStopped {
            throw S3Error(.serviceUnavailable, message: "The storage backend is stopping.")
        }
    }

    static func syncParent(of relative: String, bucketFD: CInt) throws {
        let parent = KeyPathMapper.parentDirectories(of: relative).last
        let fd = try parent.map { try POSIXFiles.openDirectory(at: bucketFD, $0) } ?? dup(bucketFD)
        defer { POSIXFiles.closeDescriptor(fd) }
        try POSIXFiles.sync(fd)
    }

    public func getObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        let cacheKey = MetadataCacheKey(bucketID: bucket.id, key: address.key)
        let generation = cache.generation(cacheKey)
        // Hot small objects come straight from memory.
        if let entry = cache.lookup(cacheKey), let content = entry.content {
            try options.conditions.enforce(on: entry.record.info)
            let range = try options.servedRange(size: entry.record.size, parts: entry.record.parts)
            let bytes = range.map { content.getSlice(at: content.readerIndex + Int($0.first), length: Int($0.count))! } ?? content
            return ObjectReadResult(info: entry.record.info, range: range, content: .bytes(bytes), partChecksum: options.partChecksum(parts: entry.record.parts, objectChecksum: entry.record.checksum))
        }
        let (record, descriptor) = try await openObject(address, bucket: bucket, state: state) { record in
            try options.conditions.enforce(on: record.info)
        }
        let range = try options.servedRange(size: record.size, parts: record.parts)
        if record.size <= MetadataCache.maxContentSize, let content = Self.readWhole(descriptor, size: Int(record.size)) {
            descriptor.close()
            cache.store(MetadataCacheEntry(record: record, content: content), for: cacheKey, readAt: generation)
            let bytes = range.map { content.getSlice(at: Int($0.first), length: Int($0.count))! } ?? content
            return ObjectReadResult(info: record.info, range: range, content: .bytes(bytes), partChecksum: options.partChecksum(parts: record.parts, objectChecksum: record.checksum))
        }
        let region = FileRegionBody(descriptor: descriptor, offset: range?.first ?? 0, length: range?.count ?? record.size)
        return ObjectReadResult(info: record.info, range: range, content: .file(region), partChecksum: options.partChecksum(parts: record.parts, objectChecksum: record.checksum))
    }

    private static let allocator = ByteBufferAllocator()

    /// The whole of a small file whose size was verified on open; `nil` if it came up short.
    static func readWhole(_ descriptor: OwnedFileDescriptor, size: Int) -> ByteBuffer? {
        descriptor.withDescriptor { fd -> ByteBuffer? in
            var buffer = allocator.buffer(capacity: size)
            var done = 0
            while done < size {
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size - done) { pointer in
                    max(pread(fd, pointer.baseAddress, size - done, off_t(done)), 0)
                }
                if count == 0 { return nil }
                done += count
            }
            return buffer
        } ?? nil
    }

    public func headObject(_ address: ObjectAddress, options: GetObjectOptions) async throws -> ObjectReadResult {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        guard let record = try cachedRecord(bucket: bucket, key: address.key, state: state) else {
            throw S3Error(.noSuchKey).with("Key", address.key)
        }
        try options.conditions.enforce(on: record.info)
        return ObjectReadResult(info: record.info, range: try options.servedRange(size: record.size, parts: record.parts), content: .none,
                                partChecksum: options.partChecksum(parts: record.parts, objectChecksum: record.checksum),
                                parts: record.parts)
    }

    /// Opens the object's file and proves it holds the bytes the row describes (same inode and
    /// size). A writer between commit and rename makes the check fail briefly; the reader then
    /// reads the pending temp file or tries again.
    func openObject(
        _ address: ObjectAddress, bucket: BucketRecord, state: OpenState, check: (ObjectRecord) throws -> Void
    ) async throws -> (ObjectRecord, OwnedFileDescriptor) {
        let relative = KeyPathMapper.relativePath(for: address.key)
        // Reads use the held directory descriptor; `bucket` keeps it alive for this call.
        let directory = try bucketDirectory(bucket, state: state)
        let bucketFD = directory.fd
        defer { withExtendedLifetime(directory) {} }
        for attempt in 0..<Self.readAttempts {
            // The first attempt may use the cache; a mismatch means a write just happened, so retries read the index.
            let found = attempt == 0
                ? try cachedRecord(bucket: bucket, key: address.key, state: state)
                : try mapErrors({ try state.index.object(bucketID: bucket.id, key: address.key) })
            guard let record = found else {
                throw S3Error(.noSuchKey).with("Key", address.key)
            }
            try check(record)
            if let fd = try mapErrors({ try Self.openMatching(at: bucketFD, relative, record) }) {
                return (record, OwnedFileDescriptor(fd))
            }
            // A rename still in flight (or failed): read the committed bytes from the temp file.
            if let temp = try mapErrors({ try state.index.read { db in try state.index.pendingTemp(bucketID: bucket.id, key: address.key, inode: record.inode, db) } }),
               let fd = try mapErrors({ try Self.openMatching(at: state.tempFD, temp, record) }) {
                return (record, OwnedFileDescriptor(fd))
            }
            if attempt > 2 { try await Task.sleep(nanoseconds: UInt64(min(attempt, 20)) * 1_000_000) } else { await Task.yield() }
        }
        logger.error("object file does not match its index row", metadata: ["bucket": "\(address.bucket)", "key": "\(address.key)"])
        throw S3Error(.internalError, message: "The object's data is unavailable.")
    }

    /// The object's row, from the cache when a recent read left it there.
    func cachedRecord(bucket: BucketRecord, key: String, state: OpenState) throws -> ObjectRecord? {
        let cacheKey = MetadataCacheKey(bucketID: bucket.id, key: key)
        if let hit = cache.lookup(cacheKey) { return hit.record }
        let generation = cache.generation(cacheKey)
        let record = try mapErrors { try state.index.object(bucketID: bucket.id, key: key) }
        if let record { cache.store(MetadataCacheEntry(record: record), for: cacheKey, readAt: generation) }
        return record
    }

    private static func openMatching(at directory: CInt, _ path: String, _ record: ObjectRecord) throws -> CInt? {
        guard let fd = try POSIXFiles.openForReading(at: directory, path) else { return nil }
        let status = try POSIXFiles.fileStatus(fd)
        if UInt64(status.st_ino) == record.inode, Int64(status.st_size) == record.size {
            return fd
        }
        POSIXFiles.closeDescriptor(fd)
        return nil
    }

    public func deleteObject(_ address: ObjectAddress, conditions: WriteConditions) async throws {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        try await freeingSpace(state) { try await removeObject(address.key, bucket: bucket, state: state, conditions: conditions) }
    }

    public func deleteObjects(bucket: String, keys: [String]) async throws -> [Result<Void, S3Error>] {
        let state = try openState()
        let record = try bucketRecord(bucket)
        // Submitted together, the deletes share one batch of the commit queue.
        return await withTaskGroup(of: (Int, Result<Void, S3Error>).self) { group in
            for (position, key) in keys.enumerated() {
                group.addTask {
                    do {
                        try await self.freeingSpace(state) { try await self.removeObject(key, bucket: record, state: state) }
                        return (position, .success(()))
                    } catch {
                        return (position, .failure(S3Error.wrapping(error)))
                    }
                }
            }
            var results = [Result<Void, S3Error>](repeating: .success(()), count: keys.count)
            for await (position, result) in group { results[position] = result }
            return results
        }
    }

    /// Deletes the row (recording the file in `trash` in the same transaction), then the file.
    private func removeObject(_ key: String, bucket: BucketRecord, state: OpenState, conditions: WriteConditions = WriteConditions()) async throws {
        let relative = KeyPathMapper.relativePath(for: key)
        let index = state.index, tempFD = state.tempFD, cache = self.cache, logger = self.logger
        let bucketID = bucket.id
        let directory = try bucketDirectory(bucket, state: state)
        _ = try await submit(state) { db -> ObjectRecord? in
            let current = try index.object(bucketID: bucketID, key: key, db)
            if !conditions.isEmpty { try conditions.check(current: current?.info) }
            guard var current else { return nil }
            current.pendingTemp = try index.pendingTemp(bucketID: bucketID, key: key, inode: current.inode, db)
            if let temp = current.pendingTemp { try index.forgetPendingRename(temp: temp, db) }
            try index.deleteObjectRow(bucketID: bucketID, key: key, db)
            try index.addTrash(bucketID: bucketID, path: relative, key: key, inode: current.inode, db)
            return current
        } afterCommit: { removed in
            // Invalidate even when nothing was deleted: a cached row may describe a file gone by other means.
            defer { cache.invalidate(MetadataCacheKey(bucketID: bucketID, key: key)) }
            guard let removed else { return }
            do {
                try withExtendedLifetime(directory) {
                    if let status = POSIXFiles.fileStatus(at: directory.fd, relative), UInt64(status.st_ino) == removed.inode {
                        try POSIXFiles.unlinkFile(at: directory.fd, relative)
                    }
                    if let temp = removed.pendingTemp, let status = POSIXFiles.fileStatus(at: tempFD, temp), UInt64(status.st_ino) == removed.inode {
                        try POSIXFiles.unlinkFile(at: tempFD, temp)
                    }
                    POSIXFiles.removeEmptyDirectories(at: directory.fd, KeyPathMapper.parentDirectories(of: relative))
                }
                index.settle(.unlinked(bucketID: bucketID, path: relative))
            } catch {
                // The row is gone; the trash entry makes start-up remove the file.
                logger.error("unlink after delete failed", metadata: ["key": "\(key)", "error": "\(error)"])
            }
        }
    }
}
