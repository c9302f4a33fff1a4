public import StowageCore
#if canImport(Glibc)
public import Glibc
#elseif canImport(Musl)
public import Musl
#elseif canImport(Darwin)
public import Darwin
#endif

/// The POSIX calls the file store makes, with EINTR handled and errors turned into values.
/// Everything is relative to an open directory (`*at` calls), so paths stay short and a key
/// can never name anything outside its bucket.
public enum POSIXFiles {
    public struct Failure: Error, CustomStringConvertible {
        public let operation: String
        public let path: String
        public let code: Int32

        public init(operation: String, path: String, code: Int32) {
            self.operation = operation
            self.path = path
            self.code = code
        }

        public var description: String { "\(operation)(\(path)): \(String(cString: strerror(code))) (errno \(code))" }

        /// The S3 error a client sees for this failure.
        public var s3Error: S3Error {
            switch code {
            case ENOSPC, EDQUOT: return S3Error(.insufficientStorage)
            case EMFILE, ENFILE: return S3Error(.slowDown, message: "The server is out of file descriptors; reduce your request rate.")
            default: return S3Error(.internalError)
            }
        }
    }

    public static func openDirectory(_ path: String) throws -> CInt {
        let fd = path.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        return fd
    }

    public static func openDirectory(at directory: CInt, _ path: String) throws -> CInt {
        let fd = path.withCString { openat(directory, $0, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else { throw Failure(operation: "openat", path: path, code: errno) }
        return fd
    }

    /// Opens a regular file for reading; `nil` when it does not exist.
    public static func openForReading(at directory: CInt, _ path: String) throws -> CInt? {
        let fd = path.withCString { openat(directory, $0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
        if fd >= 0 { return fd }
        let code = errno
        if code == ENOENT || code == ENOTDIR { return nil }
        throw Failure(operation: "openat", path: path, code: code)
    }

    /// Creates a new file exclusively.
    public static func createExclusive(at directory: CInt, _ name: String) throws -> CInt {
        let fd = name.withCString { openat(directory, $0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644) }
        guard fd >= 0 else { throw Failure(operation: "create", path: name, code: errno) }
        return fd
    }

    public static func fileStatus(_ fd: CInt) throws -> stat {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Failure(operation: "fstat", path: "fd \(fd)", code: errno) }
        return status
    }

    public static func fileStatus(at directory: CInt, _ path: String) -> stat? {
        var status = stat()
        let result = path.withCString { fstatat(directory, $0, &status, AT_SYMLINK_NOFOLLOW) }
        return result == 0 ? status : nil
    }

    public static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: "fd \(fd)", code: errno)
            }
            offset += written
        }
    }

    public static func sync(_ fd: CInt) throws {
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: "fd \(fd)", code: errno) }
    }

    /// Creates `path` (relative to `directory`); an existing directory is fine.
    public static func makeDirectory(at directory: CInt, _ path: String) throws {
        let result = path.withCString { mkdirat(directory, $0, 0o755) }
        if result != 0, errno != EEXIST { throw Failure(operation: "mkdir", path: path, code: errno) }
    }

    /// Creates each of `paths` (outermost first). A concurrent delete may prune an empty parent
    /// between two `mkdir`s; the whole chain is then made again.
    public static func makeDirectories(at directory: CInt, _ paths: [String]) throws {
        var attempts = 0
        while true {
            do {
                for path in paths { try makeDirectory(at: directory, path) }
                return
            } catch let failure as Failure where failure.code == ENOENT && attempts < 32 {
                attempts += 1
            }
        }
    }

    public static func makeDirectoryPath(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            let result = current.withCString { mkdir($0, 0o755) }
            if result != 0, errno != EEXIST { throw Failure(operation: "mkdir", path: current, code: errno) }
        }
    }

    /// Atomically replaces `to` with `from`. Returns `false` when the target directory is
    /// missing (a concurrent cleanup removed it), so the caller can recreate it and retry.
    public static func rename(from fromDirectory: CInt, _ from: String, to toDirectory: CInt, _ to: String) throws -> Bool {
        let result = from.withCString { source in to.withCString { target in renameat(fromDirectory, source, toDirectory, target) } }
        if result == 0 { return true }
        let code = errno
        if code == ENOENT, fileStatus(at: fromDirectory, from) != nil { return false }
        throw Failure(operation: "rename", path: "\(from) -> \(to)", code: code)
    }

    /// Removes a file; a missing file is fine.
    public static func unlinkFile(at directory: CInt, _ path: String) throws {
        let result = path.withCString { unlinkat(directory, $0, 0) }
        if result != 0, errno != ENOENT, errno != ENOTDIR { throw Failure(operation: "unlink", path: path, code: errno) }
    }

    /// Removes the empty directories of `paths`, innermost first, stopping at the first that
    /// is not empty. Concurrent writers recreate what they need, so this never loses data.
    public static func removeEmptyDirectories(at directory: CInt, _ paths: [String]) {
        for path in paths.reversed() {
            let result = path.withCString { unlinkat(directory, $0, AT_REMOVEDIR) }
            if result != 0 { return }
        }
    }

    /// Copies `length` bytes from `source` at `offset` into `target` inside the kernel
    /// (`sendfile` between files), falling back to read/write.
    public static func copyRange(from source: CInt, offset: Int64, length: Int64, to target: CInt) throws {
        var sourceOffset = off_t(offset)
        var remaining = length
        while remaining > 0 {
            let chunk = Int(min(remaining, 1 << 30))
            let copied = sendfile(target, source, &sourceOffset, chunk)
            if copied > 0 {
                remaining -= Int64(copied)
                continue
            }
            if copied == 0 { throw Failure(operation: "sendfile", path: "fd \(source)", code: EIO) }
            let code = errno
            if code == EINTR { continue }
            if code == EXDEV || code == EINVAL || code == ENOSYS || code == EOPNOTSUPP {
                try copyObserving(from: source, offset: Int64(sourceOffset), length: remaining, to: target) { _ in }
                return
            }
            throw Failure(operation: "sendfile", path: "fd \(source)", code: code)
        }
    }

    /// Names in a directory, without `.` and `..`.
    public static func directoryEntries(_ fd: CInt) throws -> [(name: String, isDirectory: Bool)] {
        let duplicate = dup(fd)
        guard duplicate >= 0, let stream = fdopendir(duplicate) else {
            throw Failure(operation: "opendir", path: "fd \(fd)", code: errno)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var entries: [(String, Bool)] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN), let status = fileStatus(at: fd, name) {
                isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
            }
            entries.append((name, isDirectory))
        }
        return entries
    }

    /// Removes everything inside `directory` (not the directory itself), without following links.
    public static func removeContents(of directory: CInt) throws {
        for entry in try directoryEntries(directory) {
            if entry.isDirectory {
                let child = try openDirectory(at: directory, entry.name)
                defer { close(child) }
                try removeContents(of: child)
                let result = entry.name.withCString { unlinkat(directory, $0, AT_REMOVEDIR) }
                if result != 0, errno != ENOENT { throw Failure(operation: "rmdir", path: entry.name, code: errno) }
            } else {
                try unlinkFile(at: directory, entry.name)
            }
        }
    }

    public static func closeDescriptor(_ fd: CInt) {
        _ = close(fd)
    }
}

extension POSIXFiles {
    /// Copies `length` bytes from `source` at `offset` to `target` through a 1 MiB buffer,
    /// feeding every byte to `observe` (for hashing a copied range).
    public static func copyObserving(from source: CInt, offset: Int64, length: Int64, to target: CInt, _ observe: (UnsafeRawBufferPointer) -> Void) throws {
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var position = offset
        var remaining = length
        while remaining > 0 {
            let count = pread(source, buffer.baseAddress, Int(min(Int64(bufferSize), remaining)), off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "pread", path: "fd \(source)", code: errno)
            }
            if count == 0 { throw Failure(operation: "pread", path: "fd \(source)", code: EIO) }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            observe(chunk)
            try writeAll(target, chunk)
            position += Int64(count)
            remaining -= Int64(count)
        }
    }
}
