import NIOCore
import StowageCore

/// A byte range of a shard file as a body, read a piece at a time only as the receiver takes
/// them (the `shardStream` verb): a slow reader holds one piece, never the range. A file
/// shorter than the range ends the body with an error, so the reader sees it cut short.
struct ShardFileStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    /// Reads of 256 KiB: large enough that a read is cheap per byte, small enough that a
    /// piece waiting for flow control costs little memory.
    static let piece = 256 << 10

    struct Truncated: Error, CustomStringConvertible {
        var description: String { "the shard file ends before the range asked for" }
    }

    let file: ShardFile
    let range: Range<Int64>

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: ShardFile
        var next: Int64
        let end: Int64

        mutating func next() async throws -> ByteBuffer? {
            guard next < end else { return nil }
            let length = Int(Swift.min(Int64(ShardFileStream.piece), end - next))
            let file = self.file, at = next
            guard let bytes = try await Offload.run(true, { file.read(at: at, length: length) }) else { throw Truncated() }
            next += Int64(length)
            return ByteBuffer(bytes: bytes)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(file: file, next: range.lowerBound, end: range.upperBound) }
}
