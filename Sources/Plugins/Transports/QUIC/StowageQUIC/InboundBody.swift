import NIOCore
import Synchronization

/// A body arriving on a QUIC stream, as the async sequence the receiver reads. The
/// connection feeds it from its event loop; each chunk the reader takes is reported back
/// (`consumed`), and only then does the connection widen the stream's flow-control window,
/// so a reader that stops reading stops the sender: the buffer here never holds more than
/// the window.
///
/// ```swift
/// let body = InboundBody(consumed: { count in loop.execute { connection.extend(stream, by: count) } })
/// body.append(buffer)      // event loop
/// body.finish()            // the peer's FIN
/// for try await chunk in body { ... }   // any task
/// ```
final class InboundBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    private struct State {
        var chunks: [ByteBuffer] = []
        var head = 0
        var ended = false
        var failure: (any Error)?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
    }

    private let state = Mutex(State())
    private let consumed: @Sendable (Int) -> Void

    init(consumed: @escaping @Sendable (Int) -> Void) { self.consumed = consumed }

    /// Bytes that arrived (in order).
    func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard !state.ended, state.failure == nil else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.chunks.append(buffer)
            return nil
        }
        if let waiter {
            consumed(buffer.readableBytes)
            waiter.resume(returning: buffer)
        }
    }

    /// The sender finished the body.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            state.ended = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The body cannot complete (stream reset, connection lost): the reader gets `error` once
    /// it has read what arrived before.
    func fail(_ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard !state.ended, state.failure == nil else { return nil }
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    /// Whether the whole body arrived.
    var isComplete: Bool { state.withLock { $0.ended && $0.head == $0.chunks.count } }

    fileprivate func next() async throws -> ByteBuffer? {
        // A reader cancelled while it waits ends the body for good (nobody else reads it).
        try await withTaskCancellationHandler {
            try await wait()
        } onCancel: {
            fail(CancellationError())
        }
    }

    private func wait() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { continuation in
            enum Step { case chunk(ByteBuffer), end, failed(any Error), wait }
            let step = state.withLock { state -> Step in
                if state.head < state.chunks.count {
                    let chunk = state.chunks[state.head]
                    state.head += 1
                    if state.head == state.chunks.count {
                        state.chunks.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    return .chunk(chunk)
                }
                if let failure = state.failure { return .failed(failure) }
                if state.ended { return .end }
                if Task.isCancelled { return .failed(CancellationError()) }
                state.waiter = continuation
                return .wait
            }
            switch step {
            case .chunk(let chunk):
                consumed(chunk.readableBytes)
                continuation.resume(returning: chunk)
            case .end: continuation.resume(returning: nil)
            case .failed(let error): continuation.resume(throwing: error)
            case .wait: break
            }
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: InboundBody
        mutating func next() async throws -> ByteBuffer? { try await body.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
}
