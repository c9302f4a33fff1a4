import Synchronization

/// Counts request tasks still running, so stopping the server waits for them to finish their
/// cleanup (an aborted upload removes its temp file) before the backend closes.
final class InFlightRequests: Sendable {
    private let count = Atomic<Int>(0)

    func enter() { count.wrappingAdd(1, ordering: .relaxed) }
    func leave() { count.wrappingSubtract(1, ordering: .releasing) }

    var current: Int { count.load(ordering: .acquiring) }

    /// Waits until no request runs, or `timeout` passes.
    func drain(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while current > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
