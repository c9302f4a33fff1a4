import NIOCore
import Synchronization
import StowageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An upload in progress: a uniquely named file in `.stowage/tmp`, written as the body
/// streams in and hashed on the way. Discarded on any failure unless committed.
///
/// Not `Sendable`: it belongs to the one task handling the upload.
final class TempFile {
    let name: String
    private(set) var descriptor: CInt
    private let directory: CInt
    /// Set once the index refers to this file; from then on it must never be removed here.
    var committed = false

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

    static func create(in directory: CInt) throws -> TempFile {
        while true {
            let name = namePrefix + String(counter.add(1, ordering: .relaxed).newValue, radix: 16)
            do {
                return TempFile(name: name, descriptor: try POSIXFiles.createExclusive(at: directory, name), directory: directory)
            } catch let failure as POSIXFiles.Failure where failure.code == EEXIST {
                continue
            }
        }
    }

    struct Written {
        var size: Int64
        var md5: [UInt8]
    }

    /// Streams `body` into the file, computing the MD5 for the ETag (and `checksum`, if given,
    /// for parts whose client sent none).
    func write(body: S3Body, maxSize: Int64, checksum: ChecksumHasher? = nil) async throws -> Written {
        let md5 = StreamingDigest(.md5)
        var size: Int64 = 0
        for try await chunk in body {
            size += Int64(chunk.readableBytes)
            if size > maxSize {
                throw S3Error(.entityTooLarge).with("MaxSizeAllowed", "\(maxSize)")
            }
            try chunk.withUnsafeReadableBytes { bytes in
                md5.update(bytes)
                checksum?.update(bytes)
                do {
                    try POSIXFiles.writeAll(descriptor, bytes)
                } catch let failure as POSIXFiles.Failure {
                    throw failure.s3Error
                }
            }
        }
        return Written(size: size, md5: md5.finalize())
    }

    /// Syncs if asked, closes the file and returns its inode.
    func finish(sync: Bool) throws -> UInt64 {
        if sync { try POSIXFiles.sync(descriptor) }
        let status = try POSIXFiles.fileStatus(descriptor)
        POSIXFiles.closeDescriptor(descriptor)
        descriptor = -1
        return UInt64(status.st_ino)
    }

    /// Closes and removes the file unless the index already refers to it.
    func discard() {
        if descriptor >= 0 {
            POSIXFiles.closeDescriptor(descriptor)
            descriptor = -1
        }
        if !committed { try? POSIXFiles.unlinkFile(at: directory, name) }
    }
}
