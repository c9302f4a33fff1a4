import NIOCore
import NIOPosix
import StowageCore
#if canImport(Glibc)
import Glibc
#endif

/// A file region read into buffers on NIO's blocking-I/O thread pool, for HTTPS: TLS encrypts
/// what it sends, so it cannot hand the kernel a file region to `sendfile`. The response
/// streams chunk by chunk, each written before the next is read, so a slow client slows the
/// reads and memory stays at one chunk per connection.
struct FileRegionChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    let region: FileRegionBody

    static let chunkSize = 256 * 1024

    /// `response` with a file body turned into a stream of buffers. Every file body, small ones
    /// too: the handler's inline read of a small file falls back to a file region when the read
    /// comes up short, and a TLS channel cannot take one.
    static func streamingFiles(_ response: S3Response) -> S3Response {
        guard case .file(let region) = response.body else { return response }
        var streamed = response
        streamed.body = .stream(S3Body(stream: FileRegionChunks(region: region), length: region.length), length: region.length)
        return streamed
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let region: FileRegionBody
        var offset: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard offset < region.length else {
                region.descriptor.close()
                return nil
            }
            let length = Int(Swift.min(Int64(FileRegionChunks.chunkSize), region.length - offset))
            let position = region.offset + offset
            let descriptor = region.descriptor
            let chunk = try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
                guard let buffer = descriptor.withDescriptor({ fd in PositionalRead.exactly(fd, offset: position, length: length) }) ?? nil else {
                    throw IOError(errnoCode: EIO, reason: "the object's file came up short")
                }
                return buffer
            }
            offset += Int64(chunk.readableBytes)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(region: region) }
}
