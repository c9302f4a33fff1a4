import Testing
@testable import StowageCluster

/// The checker itself: it must accept histories with a valid order and refuse ones without.
@Suite struct LinearizabilityCheckerTests {
    private func op(_ id: Int, _ call: HistoryEntry.Call, _ from: Int, _ to: Int?, _ result: HistoryEntry.Result) -> HistoryEntry {
        var entry = HistoryEntry(id: id, coordinator: 0, call: call, invokedAt: from)
        entry.returnedAt = to
        entry.result = result
        return entry
    }

    @Test func sequentialHistories() {
        #expect(LinearizabilityChecker.check([op(0, .write(1), 0, 1, .ok), op(1, .read, 2, 3, .value(1))]))
        #expect(!LinearizabilityChecker.check([op(0, .write(1), 0, 1, .ok), op(1, .read, 2, 3, .value(nil))]))
        #expect(!LinearizabilityChecker.check([op(0, .write(1), 0, 1, .ok), op(1, .write(2), 2, 3, .ok), op(2, .read, 4, 5, .value(1))]))
    }

    @Test func concurrentOperationsMayOrderEitherWay() {
        #expect(LinearizabilityChecker.check([op(0, .write(1), 0, 10, .ok), op(1, .write(2), 1, 9, .ok), op(2, .read, 11, 12, .value(1))]))
        #expect(LinearizabilityChecker.check([op(0, .write(1), 0, 10, .ok), op(1, .write(2), 1, 9, .ok), op(2, .read, 11, 12, .value(2))]))
    }

    @Test func compareAndSet() {
        #expect(LinearizabilityChecker.check([op(0, .compareAndSet(expect: nil, new: 1), 0, 1, .ok), op(1, .compareAndSet(expect: nil, new: 2), 2, 3, .preconditionFailed)]))
        #expect(!LinearizabilityChecker.check([op(0, .compareAndSet(expect: nil, new: 1), 0, 1, .ok), op(1, .compareAndSet(expect: nil, new: 2), 2, 3, .ok)]))
        #expect(!LinearizabilityChecker.check([op(0, .compareAndSet(expect: nil, new: 2), 0, 1, .preconditionFailed)]))
    }

    @Test func unknownWritesMayApplyLateOrNever() {
        // Never applied.
        #expect(LinearizabilityChecker.check([op(0, .write(1), 0, nil, .unknown), op(1, .read, 5, 6, .value(nil))]))
        // Applied after a read that did not see it.
        #expect(LinearizabilityChecker.check([
            op(0, .write(1), 0, nil, .unknown), op(1, .read, 5, 6, .value(nil)), op(2, .read, 7, 8, .value(1)),
        ]))
        // But not un-applied once seen.
        #expect(!LinearizabilityChecker.check([
            op(0, .write(1), 0, nil, .unknown), op(1, .read, 5, 6, .value(1)), op(2, .read, 7, 8, .value(nil)),
        ]))
        // Writes that failed with nothing applied are left out.
        #expect(!LinearizabilityChecker.check([op(0, .write(1), 0, 1, .unavailable), op(1, .read, 5, 6, .value(1))]))
    }

    @Test func lateDeleteBeforeCompareAndSet() {
        let history = [
            op(0, .write(nil), 78, 145, .unknown), op(1, .write(1), 97, 108, .ok), op(2, .write(nil), 144, 217, .unknown),
            op(3, .read, 234, 251, .value(1)), op(4, .read, 243, 253, .value(1)),
            op(5, .compareAndSet(expect: nil, new: 2), 245, 269, .ok), op(6, .read, 246, 299, .value(2)),
            op(8, .read, 498, 507, .value(2)),
        ]
        #expect(LinearizabilityChecker.check(history))
    }
}
