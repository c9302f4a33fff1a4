import Synchronization
import Testing
@testable import StowageCluster

@Suite struct DeadlineWheelTests {
    @Test(.timeLimit(.minutes(1))) func firesWhatIsDueAndNothingCancelled() async throws {
        let wheel = DeadlineWheel(tick: .milliseconds(5))
        let fired = Mutex<[Int]>([])
        _ = wheel.schedule(after: .milliseconds(10)) { fired.withLock { $0.append(1) } }
        let cancelled = wheel.schedule(after: .milliseconds(10)) { fired.withLock { $0.append(2) } }
        _ = wheel.schedule(after: .milliseconds(60)) { fired.withLock { $0.append(3) } }
        wheel.cancel(cancelled)
        try await Task.sleep(for: .milliseconds(40))
        #expect(fired.withLock { $0 } == [1])
        try await Task.sleep(for: .milliseconds(200))
        #expect(fired.withLock { $0 } == [1, 3])
        // The ticker stopped when nothing was pending; a new deadline starts it again.
        _ = wheel.schedule(after: .zero) { fired.withLock { $0.append(4) } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(fired.withLock { $0 } == [1, 3, 4])
    }
}
