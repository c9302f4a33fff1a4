import NIOCore
import Synchronization

/// A body leaving on a QUIC stream: the task that reads the sender's body (`write`, any task)
/// hands chunks to the connection (its event loop takes them in `take` and releases them in
/// `acknowledged`). nghttp3 and ngtcp2 send from these very bytes and retransmit from them
/// until the peer acknowledges them, so each chunk is a copy at a fixed address, freed on
/// acknowledgement. The writer waits while more than `window` bytes are unacknowledged: a
/// peer that stops reading stops the writer, and memory stays flat.
///
/// ```swift
/// let body = OutboundBody(window: 1 << 20, wake: { loop.execute { connection.resume(stream) } })
/// for try await chunk in request.body { try await body.write(chunk) }   // the pump
/// body.finish()
/// ```
final class OutboundBody: Sendable {
    /// Bytes at a fixed address until freed. `@unchecked Sendable`: the bytes are written once,
    /// before the chunk is shared, and only read after; exactly one owner frees it (the state
    /// under the mutex, on acknowledgement or on `discard`).
    struct Chunk: @unchecked Sendable {
        let bytes: UnsafeMutableRawBufferPointer

        init(copying buffer: ByteBuffer) {
            bytes = .allocate(byteCount: buffer.readableBytes, alignment: 1)
            buffer.withUnsafeReadableBytes { bytes.copyMemory(from: $0) }
        }

        func free() { bytes.deallocate() }
    }

    private struct State {
        /// Not yet handed to nghttp3.
        var pending: [Chunk] = []
        /// Handed out, waiting for the peer's acknowledgement, in stream order.
        var inFlight: [Chunk] = []
        /// Bytes of `inFlight[0]` already acknowledged.
        var acknowledgedOfFirst = 0
        var unacknowledged = 0
        var ended = false
        var failure: (any Error)?
        var spaceWaiter: CheckedContinuation<Void, any Error>?
    }

    private let state = Mutex(State())
    private let window: Int
    private let wake: @Sendable () -> Void

    init(window: Int, wake: @escaping @Sendable () -> Void) {
        self.window = window
        self.wake = wake
    }

    /// The largest chunk: a big buffer is queued in pieces, each after waiting for room, so
    /// the window holds however the sender slices its body.
    static let chunkLimit = 64 << 10

    /// Queues `buffer` (copied, in pieces of at most ``chunkLimit``), each after waiting for room.
    func write(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while rest.readableBytes > Self.chunkLimit {
            try await writePiece(rest.readSlice(length: Self.chunkLimit)!)
        }
        try await writePiece(rest)
    }

    private func writePiece(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        try await withTaskCancellationHandler {
            try await waitForRoom()
        } onCancel: {
            fail(CancellationError())
        }
        let chunk = Chunk(copying: buffer)
        let accepted = state.withLock { state -> Bool in
            guard state.failure == nil, !state.ended else { return false }
            state.pending.append(chunk)
            state.unacknowledged += chunk.bytes.count
            return true
        }
        guard accepted else {
            chunk.free()
            throw state.withLock { $0.failure } ?? CancellationError()
        }
        wake()
    }

    private func waitForRoom() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enum Step { case go, failed(any Error), wait }
            let step = state.withLock { state -> Step in
                if let failure = state.failure { return .failed(failure) }
                if state.unacknowledged < window { return .go }
                if Task.isCancelled { return .failed(CancellationError()) }
                state.spaceWaiter = continuation
                return .wait
            }
            switch step {
            case .go: continuation.resume()
            case .failed(let error): continuation.resume(throwing: error)
            case .wait: break
            }
        }
    }

    /// Whether the writer queued the whole body (it may not all be acknowledged yet).
    var isFinished: Bool { state.withLock { $0.ended && $0.failure == nil } }

    /// The writer is done: the stream ends after what was queued.
    func finish() {
        state.withLock { $0.ended = true }
        wake()
    }

    /// The stream cannot carry the body any more: a waiting writer fails with `error`.
    func fail(_ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.failure == nil { state.failure = error }
            defer { state.spaceWaiter = nil }
            return state.spaceWaiter
        }
        waiter?.resume(throwing: error)
    }

    /// Event loop: up to `limit` chunks to send next (they move to in flight), and whether the
    /// body ends after them. Nil: nothing to send yet (nghttp3's "would block").
    func take(limit: Int) -> (chunks: [UnsafeRawBufferPointer], end: Bool)? {
        state.withLock { state in
            let count = Swift.min(limit, state.pending.count)
            let taken = state.pending.prefix(count)
            state.pending.removeFirst(count)
            state.inFlight.append(contentsOf: taken)
            let end = state.ended && state.pending.isEmpty
            if taken.isEmpty && !end { return nil }
            return (taken.map { UnsafeRawBufferPointer($0.bytes) }, end)
        }
    }

    /// Event loop: the peer acknowledged `count` more bytes; their chunks are freed, and the
    /// writer resumes once the unacknowledged bytes fall under the window.
    func acknowledged(_ count: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            var left = count
            state.unacknowledged -= count
            while left > 0, let first = state.inFlight.first {
                let remaining = first.bytes.count - state.acknowledgedOfFirst
                if left < remaining {
                    state.acknowledgedOfFirst += left
                    left = 0
                } else {
                    left -= remaining
                    first.free()
                    state.inFlight.removeFirst()
                    state.acknowledgedOfFirst = 0
                }
            }
            guard state.unacknowledged < window else { return nil }
            defer { state.spaceWaiter = nil }
            return state.spaceWaiter
        }
        waiter?.resume()
    }

    /// Event loop, when the stream is gone: frees every chunk (nothing refers to them any
    /// more) and fails a waiting writer.
    func discard(_ error: any Error) {
        fail(error)
        state.withLock { state in
            for chunk in state.pending + state.inFlight { chunk.free() }
            state.pending.removeAll()
            state.inFlight.removeAll()
            state.unacknowledged = 0
        }
    }
}
