import Synchronization
import Testing
@testable import StowageCluster

@Suite struct DeadlineWheelTests {
    final class Fired: Sendable {
        let values = Mutex<Set<Int>>([])
        func add(_ value: Int) { values.withLock { _ = $0.insert(value) } }

        /// Waits (bounded) until exactly `expected` fired, whatever the machine's load.
        func become(_ expected: Set<Int>) async throws -> Bool {
            for _ in 0..<500 {
                if values.withLock({ $0 }) == expected { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }
    }

    @Test(.timeLimit(.minutes(1))) func firesWhatIsDueAndNothingCancelled() async throws {
        let wheel = DeadlineWheel(tick: .milliseconds(5))
        let fired = Fired()
        _ = wheel.schedule(after: .milliseconds(10)) { fired.add(1) }
        let cancelled = wheel.schedule(after: .milliseconds(10)) { fired.add(2) }
        _ = wheel.schedule(after: .milliseconds(30)) { fired.add(3) }
        wheel.cancel(cancelled)
        #expect(try await fired.become([1, 3]))
        // The ticker stops when nothing is pending; a new deadline starts it again.
        _ = wheel.schedule(after: .zero) { fired.add(4) }
        #expect(try await fired.become([1, 3, 4]))
    }
}
