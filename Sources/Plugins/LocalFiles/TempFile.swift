import NIOCore
import Synchronization
public import StowageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An upload in progress: a uniquely named file in `.stowage/tmp`, written as the body
/// streams in and hashed on the way. Discarded on any failure unless committed.
///
/// Not `Sendable`: it belongs to the one task handling the upload.
public final class TempFile {
    public let name: String
    public private(set) var descriptor: CInt
    private let directory: CInt
    /// Set once the index refers to this file; from then on it must never be removed here.
    public var committed = false

    private init(name: String, descriptor: CInt, directory: CInt) {
        self.name = name
        self.descriptor = descriptor
        self.directory = directory
    }

    /// Random per process, so names never repeat across restarts (leftovers of a crash are
    /// still there until recovery runs); a counter within it, because a random draw per upload
    /// costs a `getpid` and the DRBG for nothing.
    private static let namePrefix = "upload-" + Hex.encode(SecureRandom.bytes(8)) + "-"
    private static let counter = Atomic<UInt64>(0)

    public static func create(in directory: CInt) throws -> TempFile {
        while true {
            let name = namePrefix + String(counter.add(1, ordering: .relaxed).newValue, radix: 16)
            do {
                return TempFile(name: name, descriptor: try POSIXFiles.createExclusive(at: directory, name), directory: directory)
            } catch let failure as POSIXFiles.Failure where failure.code == EEXIST {
                continue
            }
        }
    }

    /// Streams `body` into the file through `ingest` (Core's size, MD5 and Content-MD5 checks,
    /// and a checksum for parts whose client sent none), and returns the checked body.
    ///
    /// `overlapped` (for large bodies) writes each MiB in a child task while the next one is
    /// hashed: MD5 is the slowest stage of a PUT (under 1 GB/s on one core, and it cannot be
    /// split), so taking the write copy off its thread is what lets a big upload run at the
    /// speed of the hash. At most two batches are held, so memory stays flat.
    public func write(body: S3Body, ingest: BodyIngest, overlapped: Bool = false) async throws -> BodyIngest.Checked {
        var ingest = ingest
        let descriptor = self.descriptor
        guard overlapped else {
            for try await chunk in body {
                try ingest.take(chunk)
                try Self.write([chunk], to: descriptor)
            }
            return try ingest.finish()
        }
        // The group's scope ends only after its writes have: the descriptor outlives them even
        // when the body fails half way.
        try await withThrowingTaskGroup(of: Void.self) { writes in
            var batch: [ByteBuffer] = []
            var batchBytes = 0
            var writing = false
            for try await chunk in body {
                try ingest.take(chunk)
                batch.append(chunk)
                batchBytes += chunk.readableBytes
                guard batchBytes >= Self.overlappedBatch else { continue }
                if writing { try await writes.next() }
                let full = batch
                writes.addTask { try Self.write(full, to: descriptor) }
                writing = true
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
            }
            if writing { try await writes.next() }
            try Self.write(batch, to: descriptor)
        }
        return try ingest.finish()
    }

    private static let overlappedBatch = 1 << 20

    private static func write(_ chunks: [ByteBuffer], to descriptor: CInt) throws {
        for chunk in chunks {
            try chunk.withUnsafeReadableBytes { bytes in
                do {
                    try POSIXFiles.writeAll(descriptor, bytes)
                } catch let failure as POSIXFiles.Failure {
                    throw failure.s3Error
                }
            }
        }
    }

    /// Syncs if asked, closes the file and returns its inode.
    public func finish(sync: Bool) throws -> UInt64 {
        if sync { try POSIXFiles.sync(descriptor) }
        let status = try POSIXFiles.fileStatus(descriptor)
        POSIXFiles.closeDescriptor(descriptor)
        descriptor = -1
        return UInt64(status.st_ino)
    }

    /// Closes and removes the file unless the index already refers to it.
    public func discard() {
        if descriptor >= 0 {
            POSIXFiles.closeDescriptor(descriptor)
            descriptor = -1
        }
        if !committed { try? POSIXFiles.unlinkFile(at: directory, name) }
    }
}
