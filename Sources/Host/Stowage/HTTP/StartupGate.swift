import Synchronization

/// A one-way latch: waiters park until it opens (or fails), then every later wait returns at
/// once. The HTTP server holds requests that arrive between `listen` and the backend being open
/// on one (the socket is bound first so clients can connect the moment the process starts); the
/// server's background services wait on another for the server to be running.
final class StartupGate: Sendable {
    private struct Waiters {
        var parked: [Int: CheckedContinuation<Bool, Never>] = [:]
        /// Waiters cancelled before they parked; they resume at once when they get there.
        var cancelled: Set<Int> = []
        var nextID = 0
    }
    private enum State {
        case waiting(Waiters)
        case open
        case failed
    }
    private let state = Mutex(State.waiting(Waiters()))
    private let isOpenFlag = Atomic(false)

    /// Fast path for every request once started.
    var isOpen: Bool { isOpenFlag.load(ordering: .acquiring) }

    /// How many waiters are parked now (tests wait for a request to be held).
    var parkedCount: Int {
        state.withLock { state in
            if case .waiting(let waiters) = state { waiters.parked.count } else { 0 }
        }
    }

    /// `true` once open; `false` if it failed, or if the waiting task is cancelled.
    func wait() async -> Bool {
        if isOpen { return true }
        enum Ticket { case wait(Int), settled(Bool) }
        let ticket = state.withLock { state -> Ticket in
            switch state {
            case .waiting(var waiters):
                defer { waiters.nextID += 1; state = .waiting(waiters) }
                return .wait(waiters.nextID)
            case .open: return .settled(true)
            case .failed: return .settled(false)
            }
        }
        let id: Int
        switch ticket {
        case .settled(let value): return value
        case .wait(let ticket): id = ticket
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: Bool? = state.withLock { state in
                    switch state {
                    case .waiting(var waiters):
                        if waiters.cancelled.remove(id) != nil {
                            state = .waiting(waiters)
                            return false
                        }
                        waiters.parked[id] = continuation
                        state = .waiting(waiters)
                        return nil
                    case .open: return true
                    case .failed: return false
                    }
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let parked = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard case .waiting(var waiters) = state else { return nil }
                let parked = waiters.parked.removeValue(forKey: id)
                if parked == nil { waiters.cancelled.insert(id) }
                state = .waiting(waiters)
                return parked
            }
            parked?.resume(returning: false)
        }
    }

    func open() { settle(.open) }
    func fail() { settle(.failed) }

    private func settle(_ outcome: State) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = outcome
            return Array(waiters.parked.values)
        }
        let opened = if case .open = outcome { true } else { false }
        if opened { isOpenFlag.store(true, ordering: .releasing) }
        for waiter in waiters { waiter.resume(returning: opened) }
    }
}
