import NIOCore
import Synchronization

/// A body arriving on a QUIC stream, as the async sequence the receiver reads. The
/// connection feeds it from its event loop; each chunk the reader takes is reported back
/// (`consumed`), and only then does the connection widen the stream's flow-control window,
/// so a reader that stops reading stops the sender: the buffer here never holds more than
/// the window.
///
/// A reader that drops the body unfinished (its ``InboundReader`` goes away, or its task is
/// cancelled while waiting) is reported once (`abandoned`): the connection tells the peer to
/// stop sending, so the stream ends instead of waiting for credit forever.
///
/// ```swift
/// let body = InboundBody(consumed: { count in loop.execute { connection.extend(stream, by: count) } },
///                        abandoned: { loop.execute { connection.stopReading(stream) } })
/// body.append(buffer)      // event loop
/// body.finish()            // the peer's FIN
/// for try await chunk in body.reader() { ... }   // any task
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
        var abandoned = false
        /// Bytes the reader took that were not reported yet (reported in batches).
        var unreported = 0
    }

    /// Consumption is reported once this much piles up, or when the reader runs dry: one
    /// report (a hop to the event loop) per 64 KiB, not per packet.
    static let reportEvery = 64 << 10

    private let state = Mutex(State())
    private let consumed: @Sendable (Int) -> Void
    private let onAbandon: @Sendable () -> Void

    init(consumed: @escaping @Sendable (Int) -> Void, abandoned: @escaping @Sendable () -> Void = {}) {
        self.consumed = consumed
        onAbandon = abandoned
    }

    /// What the receiver reads: dropping it unfinished abandons the body.
    func reader() -> InboundReader { InboundReader(body: self) }

    /// Whether the body takes no more bytes (finished, failed or abandoned).
    var isEnded: Bool { state.withLock { $0.ended || $0.failure != nil } }

    /// The reader is gone before the end: reported once, unless the body was complete.
    func abandon() {
        let report = state.withLock { state -> Bool in
            guard !state.abandoned, !(state.ended && state.head == state.chunks.count) else { return false }
            state.abandoned = true
            if state.failure == nil && !state.ended { state.failure = CancellationError() }
            state.chunks.removeAll()
            state.head = 0
            return true
        }
        if report { onAbandon() }
    }

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
            // The reader was waiting: it ran dry, so report at once.
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
            abandon()
        }
    }

    private func wait() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { continuation in
            enum Step { case chunk(ByteBuffer, report: Int), end, failed(any Error), wait }
            let step = state.withLock { state -> Step in
                if state.head < state.chunks.count {
                    let chunk = state.chunks[state.head]
                    state.head += 1
                    state.unreported += chunk.readableBytes
                    var report = 0
                    if state.head == state.chunks.count {
                        state.chunks.removeAll(keepingCapacity: true)
                        state.head = 0
                        report = state.unreported
                    } else if state.unreported >= Self.reportEvery {
                        report = state.unreported
                    }
                    state.unreported -= report
                    return .chunk(chunk, report: report)
                }
                if let failure = state.failure { return .failed(failure) }
                if state.ended { return .end }
                if Task.isCancelled { return .failed(CancellationError()) }
                state.waiter = continuation
                return .wait
            }
            switch step {
            case .chunk(let chunk, let report):
                if report > 0 { consumed(report) }
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

/// The receiving end of an ``InboundBody``: when the last reference to it goes (the request or
/// response body dropped, its iterators done with), an unfinished body is abandoned.
final class InboundReader: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    let body: InboundBody

    init(body: InboundBody) { self.body = body }

    deinit { body.abandon() }

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: InboundReader
        var inner: InboundBody.AsyncIterator
        mutating func next() async throws -> ByteBuffer? { try await inner.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self, inner: body.makeAsyncIterator()) }
}
