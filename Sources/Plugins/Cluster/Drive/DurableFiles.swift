import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small file writes that must survive power loss: write and fsync the file, rename it into
/// place and fsync the directory that names it.
enum DurableFiles {
    struct Failure: Error, CustomStringConvertible {
        let operation: String
        let path: String
        let code: Int32
        var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
    }

    static func write(_ data: Data, to path: String, durable: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(operation: "write", path: path, code: errno)
                }
                offset += n
            }
        }
        if durable && fsync(fd) != 0 { throw Failure(operation: "fsync", path: path, code: errno) }
    }

    static func rename(_ from: String, to: String, durable: Bool) throws {
        guard Glibc.rename(from, to) == 0 else { throw Failure(operation: "rename", path: to, code: errno) }
        if durable { try syncDirectory((to as NSString).deletingLastPathComponent) }
    }

    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "fsync", path: path, code: errno) }
    }
}
