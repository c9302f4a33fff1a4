public import NIOCore

/// A request or response body: a single-pass stream of byte buffers.
///
/// Backed by an in-memory buffer or by any `AsyncSequence` of `ByteBuffer`s. The Host feeds
/// request bodies from the socket with backpressure: the socket is read only as fast as the
/// body is consumed, so nothing buffers a whole object.
///
/// ```swift
/// var total = 0
/// for try await chunk in request.body { total += chunk.readableBytes }
/// ```
public struct S3Body: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    @usableFromInline
    enum Storage: Sendable {
        case empty
        case buffer(ByteBuffer)
        case stream(any AsyncSequence<ByteBuffer, any Error> & Sendable)
    }

    @usableFromInline
    let storage: Storage

    /// The body's length when the sender declared it (`Content-Length`), else `nil`.
    public let declaredLength: Int64?

    public static let empty = S3Body(storage: .empty, declaredLength: 0)

    init(storage: Storage, declaredLength: Int64?) {
        self.storage = storage
        self.declaredLength = declaredLength
    }

    /// A body held in memory.
    public init(_ buffer: ByteBuffer) {
        self.init(storage: .buffer(buffer), declaredLength: Int64(buffer.readableBytes))
    }

    /// A body read from an asynchronous sequence; `length` is the declared length if known.
    public init<S: AsyncSequence & Sendable>(stream: S, length: Int64?)
    where S.Element == ByteBuffer, S.Failure == any Error {
        self.init(storage: .stream(stream), declaredLength: length)
    }

    /// The same bytes with a different declared length (for example after aws-chunked decoding).
    public func withDeclaredLength(_ length: Int64?) -> S3Body {
        S3Body(storage: storage, declaredLength: length)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = ByteBuffer
        public typealias Failure = any Error

        enum State {
            case done
            case buffer(ByteBuffer)
            case stream(any AsyncIteratorProtocol<ByteBuffer, any Error>)
        }
        var state: State

        public mutating func next() async throws -> ByteBuffer? {
            switch state {
            case .done:
                return nil
            case .buffer(let buffer):
                state = .done
                return buffer.readableBytes > 0 ? buffer : nil
            case .stream(var iterator):
                // Skip empty chunks so consumers never see a zero-length buffer.
                while let chunk = try await iterator.next() {
                    if chunk.readableBytes > 0 {
                        state = .stream(iterator)
                        return chunk
                    }
                }
                state = .done
                return nil
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch storage {
        case .empty: return AsyncIterator(state: .done)
        case .buffer(let buffer): return AsyncIterator(state: .buffer(buffer))
        case .stream(let stream): return AsyncIterator(state: .stream(stream.makeAsyncIterator()))
        }
    }

    /// Reads the whole body into memory, failing with `error` once it exceeds `limit` bytes.
    /// For small documents only (XML request bodies); objects are always streamed.
    public func collect(upTo limit: Int, orThrow error: @autoclosure () -> S3Error) async throws -> ByteBuffer {
        if case .buffer(let buffer) = storage {
            guard buffer.readableBytes <= limit else { throw error() }
            return buffer
        }
        var result = ByteBuffer()
        for try await var chunk in self {
            guard result.readableBytes + chunk.readableBytes <= limit else { throw error() }
            result.writeBuffer(&chunk)
        }
        return result
    }
}
