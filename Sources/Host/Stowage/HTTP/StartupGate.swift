import Synchronization

/// Holds requests that arrive between `listen` and the backend being open. The socket is bound
/// first so clients can connect the moment the process starts (opening the index takes longer
/// than everything else at start-up); their requests wait here, then run, or are refused if
/// the backend fails to open.
final class StartupGate: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Bool, Never>])
        case open
        case failed
    }
    private let state = Mutex(State.waiting([]))
    private let isOpenFlag = Atomic(false)

    /// Fast path for every request once started.
    var isOpen: Bool { isOpenFlag.load(ordering: .acquiring) }

    /// `true` once the backend is open, `false` if it failed.
    func wait() async -> Bool {
        if isOpen { return true }
        return await withCheckedContinuation { continuation in
            let immediate: Bool? = state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .open: return true
                case .failed: return false
                }
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    func open() { settle(.open) }
    func fail() { settle(.failed) }

    private func settle(_ outcome: State) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = outcome
            return waiters
        }
        if case .open = outcome { isOpenFlag.store(true, ordering: .releasing) }
        let opened = if case .open = outcome { true } else { false }
        for waiter in waiters { waiter.resume(returning: opened) }
    }
}
