import Synchronization

/// Bounds the bytes handed from one task to another: `acquire` waits while the bytes out
/// would pass `capacity`, `release` returns them. `fail` wakes every waiter for good, so a
/// producer never waits on a consumer that has stopped.
///
/// ```swift
/// guard await budget.acquire(buffer.readableBytes) else { throw stopped }   // producer
/// budget.release(buffer.readableBytes)                                       // consumer, when done with it
/// ```
final class ByteBudget: Sendable {
    private struct State {
        var available: Int
        var failed = false
        var waiters: [(id: UInt64, bytes: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID: UInt64 = 0
    }

    private let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// True when granted; false once the budget failed or the waiting task is cancelled. A
    /// request larger than the capacity is granted when nothing else is out.
    func acquire(_ bytes: Int) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let granted: Bool? = state.withLock { state in
                    if state.failed || Task.isCancelled { return false }
                    guard state.waiters.isEmpty, grants(bytes, state.available) else {
                        state.waiters.append((id, bytes, continuation))
                        return nil
                    }
                    state.available -= bytes
                    return true
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
            // The next waiters may fit now that this one is gone.
            release(0)
        }
    }

    func release(_ bytes: Int) {
        let ready: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            state.available += bytes
            var ready: [CheckedContinuation<Bool, Never>] = []
            while let first = state.waiters.first, grants(first.bytes, state.available) {
                state.available -= first.bytes
                ready.append(first.continuation)
                state.waiters.removeFirst()
            }
            return ready
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    func fail() {
        let waiting = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.failed = true
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for continuation in waiting { continuation.resume(returning: false) }
    }

    private func grants(_ bytes: Int, _ available: Int) -> Bool {
        available >= bytes || available == capacity
    }
}
