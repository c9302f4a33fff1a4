public import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one `pread` loop: reads exactly `length` bytes at `offset` of an open file, retrying
/// short reads and interrupted calls. Small object bodies are served this way (one read, then
/// the head and body leave in one write), and file regions are read into buffers where
/// `sendfile` cannot be used (TLS, tests).
///
/// ```swift
/// guard let bytes = PositionalRead.exactly(fd, offset: region.offset, length: Int(region.length)) else { ... }
/// ```
public enum PositionalRead {
    /// The bytes, or `nil` when the file ends first or a read fails.
    public static func exactly(_ fd: CInt, offset: Int64, length: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer? {
        var buffer = allocator.buffer(capacity: length)
        var done = 0
        while done < length {
            var failed = false
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length - done) { pointer in
                while true {
                    let result = pread(fd, pointer.baseAddress, length - done, off_t(offset) + off_t(done))
                    if result < 0, errno == EINTR { continue }
                    if result < 0 { failed = true }
                    return max(result, 0)
                }
            }
            if failed || count == 0 { return nil }
            done += count
        }
        return buffer
    }
}
