import Synchronization

/// Round deadlines for every operation of the process on one ticking task, instead of a
/// sleeping task (and a dispatch timer) per round: a small GET runs a round in well under a
/// millisecond, and arming and cancelling its own timer cost more than the round. Deadlines
/// fire within one tick (10 ms) after they pass; the task runs only while some are pending.
///
/// ```swift
/// let token = DeadlineWheel.shared.schedule(after: .seconds(2)) { sink.yield(.deadline(round: 1)) }
/// DeadlineWheel.shared.cancel(token)   // the round ended first
/// ```
final class DeadlineWheel: Sendable {
    static let shared = DeadlineWheel()

    private struct Entry {
        let due: ContinuousClock.Instant
        let fire: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var next: UInt64 = 0
        var ticking = false
    }

    private let state = Mutex(State())
    private let tick: Duration

    init(tick: Duration = .milliseconds(10)) { self.tick = tick }

    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> UInt64 {
        let due = ContinuousClock.now + delay
        let (token, start) = state.withLock { state -> (UInt64, Bool) in
            state.next += 1
            state.entries[state.next] = Entry(due: due, fire: fire)
            let start = !state.ticking
            state.ticking = true
            return (state.next, start)
        }
        if start { Task { await run() } }
        return token
    }

    func cancel(_ token: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: token) }
    }

    private func run() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (due, last) = state.withLock { state -> ([Entry], Bool) in
                let due = state.entries.filter { $0.value.due <= now }
                for key in due.keys { state.entries[key] = nil }
                // Stop with nothing pending; the next schedule starts a new ticker.
                if state.entries.isEmpty { state.ticking = false }
                return (Array(due.values), state.entries.isEmpty)
            }
            for entry in due { entry.fire() }
            if last { return }
        }
    }
}
