import Testing
@testable import StowageCluster

@Suite struct DriveHealthTrackerTests {
    let start = ContinuousClock.now

    @Test func failuresInARowTakeTheDriveOut() {
        var tracker = DriveHealthTracker()
        #expect(tracker.record(latency: nil, error: "ENOSPC") == .fine)
        #expect(tracker.record(latency: nil, error: "ENOSPC") == .fine)
        guard case .takeOut(let reason) = tracker.record(latency: nil, error: "ENOSPC") else {
            Issue.record("three failures in a row left the drive in")
            return
        }
        #expect(reason.contains("3 operations failed in a row") && reason.contains("ENOSPC"))
        #expect(tracker.errors == 3)
    }

    @Test func aSuccessBreaksTheRun() {
        var tracker = DriveHealthTracker()
        _ = tracker.record(latency: nil, error: "EIO")
        _ = tracker.record(latency: nil, error: "EIO")
        #expect(tracker.record(latency: .milliseconds(2), error: nil) == .fine)
        #expect(tracker.record(latency: nil, error: "EIO") == .fine)
        #expect(tracker.consecutiveFailures == 1)
        #expect(tracker.errors == 3 && tracker.operations == 4)
    }

    /// A full drive: every shard write fails, the catalog commits between them succeed.
    @Test func halfTheOperationsFailingTakeTheDriveOut() {
        var tracker = DriveHealthTracker()
        var verdicts: [DriveHealthTracker.Verdict] = []
        for _ in 0..<5 {
            verdicts.append(tracker.record(latency: nil, error: "ENOSPC"))
            verdicts.append(tracker.record(latency: .milliseconds(1), error: nil))
        }
        #expect(verdicts.dropLast(2).allSatisfy { $0 == .fine })
        #expect(verdicts[8] == .takeOut("5 of the last 10 operations failed, the last with: ENOSPC"))
        tracker.restored()
        #expect(tracker.record(latency: nil, error: "ENOSPC") == .fine)
    }

    @Test func anOperationPastItsDeadlineIsOverdueUntilItReturns() {
        var tracker = DriveHealthTracker(policy: .init(consecutiveFailures: 3, operationDeadline: .seconds(10)))
        let id = tracker.begin(at: start)
        #expect(tracker.overdue(at: start + .seconds(5)) == nil)
        #expect(tracker.overdue(at: start + .seconds(11))?.contains("deadline") == true)
        #expect(tracker.end(id, at: start + .seconds(12), error: nil) == .fine)
        #expect(tracker.overdue(at: start + .seconds(13)) == nil)
        #expect(tracker.meanLatencyMs == 12_000)
    }

    @Test func latencyIsAMovingMean() {
        var tracker = DriveHealthTracker()
        for ms in [10, 10, 10] {
            let id = tracker.begin(at: start)
            _ = tracker.end(id, at: start + .milliseconds(ms), error: nil)
        }
        #expect(abs(tracker.meanLatencyMs - 10) < 0.001)
        #expect(tracker.summary.hasPrefix("3 operations, 0 errors, mean latency 10.00 ms"))
    }
}
