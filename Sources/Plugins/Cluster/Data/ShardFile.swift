import Foundation
public import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a drive keeps shard files: `<drive>/.stowage/data/<xx>/<dataRef>.p<part>.s<slot>`,
/// `xx` the first byte of the data reference. Keys never appear in file names. Files are
/// written where they stay: a write is "staged" or "adopted" only in the catalog, so a PUT
/// costs no rename and no second directory sync (CLUSTER.md §2 stages under `tmp/` and
/// renames; tracking the state in the catalog gives the same reference rule for less I/O).
public struct DriveLayout: Sendable, Equatable {
    public let drive: String

    public init(drive: String) { self.drive = drive }

    public var stowageDirectory: String { drive + "/.stowage" }
    public var catalogPath: String { stowageDirectory + "/catalog.sqlite" }
    public var dataDirectory: String { stowageDirectory + "/data" }

    public func shardDirectory(dataRef: [UInt8]) -> String {
        dataDirectory + "/" + Hex.byte(dataRef.first ?? 0)
    }

    public func shardPath(dataRef: [UInt8], part: Int, slot: Int) -> String {
        shardDirectory(dataRef: dataRef) + "/" + Hex.string(dataRef) + ".p\(part).s\(slot)"
    }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)
    static func byte(_ b: UInt8) -> String { String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self) }
    static func string(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One open shard file. Reads and writes are positional (`pread`/`pwrite`), so one open file
/// serves concurrent readers; the descriptor is closed when the last reference goes.
public final class ShardFile: Sendable {
    /// Immutable after init; closed exactly once, in deinit.
    let fd: CInt
    public let path: String

    private init(fd: CInt, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    public struct Failure: Error, CustomStringConvertible {
        public let operation: String
        public let path: String
        public let code: Int32
        public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    }

    /// Creates (truncating) a shard file, making its directory if needed. `exclusive`: fails
    /// when the file exists (a shard written for another node, whose request may arrive twice).
    public static func create(_ path: String, exclusive: Bool = false) throws -> ShardFile {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
        var fd = open(path, flags, 0o644)
        if fd < 0 && errno == ENOENT {
            // Start-up makes every shard directory; one that went missing is made again, and
            // its own entry synced so the shard's entry has a durable directory to live in.
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try DurableFiles.syncDirectory((directory as NSString).deletingLastPathComponent)
            fd = open(path, flags, 0o644)
        }
        guard fd >= 0 else { throw Failure(operation: "create", path: path, code: errno) }
        return ShardFile(fd: fd, path: path)
    }

    /// Hard-links `source` as `destination` (a multipart part becoming part of its object).
    /// True when it made the link; false when `destination` already is that very file (a
    /// repeated request); throws otherwise, also when `source` is gone.
    public static func link(_ source: String, _ destination: String) throws -> Bool {
        if Glibc.link(source, destination) == 0 { return true }
        var code = errno
        if code == ENOENT, FileManager.default.fileExists(atPath: source) {
            let directory = (destination as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try DurableFiles.syncDirectory((directory as NSString).deletingLastPathComponent)
            if Glibc.link(source, destination) == 0 { return true }
            code = errno
        }
        if code == EEXIST {
            var a = stat(), b = stat()
            if stat(source, &a) == 0, stat(destination, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino { return false }
        }
        throw Failure(operation: "link", path: destination, code: code)
    }

    /// The file's length now; nil if it cannot be read.
    public var size: Int64? {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int64(info.st_size) : nil
    }

    /// Opens an existing shard file for reading; nil if it is not there.
    public static func openForReading(_ path: String) -> ShardFile? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? ShardFile(fd: fd, path: path) : nil
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: path, code: errno)
            }
            done += n
        }
    }

    /// Writes one `[crc32c][block]` record at `offset` in one system call.
    public func writeRecord(crc32c: UInt32, block: [UInt8], at offset: Int64) throws {
        try block.withUnsafeBytes { try writeRecord(crc32c: crc32c, block: $0, at: offset) }
    }

    public func writeRecord(crc32c: UInt32, block blockBytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var header = crc32c.bigEndian
        try withUnsafeMutableBytes(of: &header) { headerBytes in
            do {
                var vectors = [
                    iovec(iov_base: headerBytes.baseAddress, iov_len: 4),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: blockBytes.baseAddress), iov_len: blockBytes.count),
                ]
                let total = 4 + blockBytes.count
                let n = pwritev(fd, &vectors, 2, off_t(offset))
                if n == total { return }
                // Short or interrupted: finish with plain writes.
                guard n >= 0 || errno == EINTR else { throw Failure(operation: "write", path: path, code: errno) }
                var record = Array(headerBytes)
                record.append(contentsOf: blockBytes)
                try record.withUnsafeBytes { try write($0, at: offset) }
            }
        }
    }

    /// Reads one `[crc32c][block]` record at `offset` in one system call, the block straight
    /// into `buffer`; returns the stored CRC32C, or nil (buffer unchanged) on an error or a
    /// short read.
    public func readRecord(at offset: Int64, blockLength: Int, into buffer: inout ByteBuffer) -> UInt32? {
        var header: UInt32 = 0
        var complete = false
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: blockLength) { block in
            withUnsafeMutableBytes(of: &header) { headerBytes in
                var vectors = [
                    iovec(iov_base: headerBytes.baseAddress, iov_len: 4),
                    iovec(iov_base: block.baseAddress, iov_len: blockLength),
                ]
                var n: Int
                repeat { n = preadv(fd, &vectors, 2, off_t(offset)) } while n < 0 && errno == EINTR
                complete = n == 4 + blockLength
            }
            return complete ? blockLength : 0
        }
        return complete ? UInt32(bigEndian: header) : nil
    }

    /// Reads `length` bytes at `offset`; nil on an error or a short file.
    public func read(at offset: Int64, length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        var done = 0
        let ok = out.withUnsafeMutableBytes { raw -> Bool in
            while done < length {
                let n = pread(fd, raw.baseAddress! + done, length - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        return ok ? out : nil
    }

    public func sync() throws {
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, code: errno) }
    }
}
