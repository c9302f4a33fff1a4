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
        var waiters: [(bytes: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    }

    private let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// True when granted; false once the budget failed. A request larger than the capacity
    /// is granted when nothing else is out.
    func acquire(_ bytes: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            let granted: Bool? = state.withLock { state in
                if state.failed { return false }
                guard state.waiters.isEmpty, grants(bytes, state.available) else {
                    state.waiters.append((bytes, continuation))
                    return nil
                }
                state.available -= bytes
                return true
            }
            if let granted { continuation.resume(returning: granted) }
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
