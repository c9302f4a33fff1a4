@testable import StowageCluster

/// One drive of the simulated set: a key's record as the catalog holds it durably and as the
/// open transaction sees it, plus the answers waiting for the next group commit.
struct SimulatedDrive {
    var durable: AcceptorRecord?
    var volatile: AcceptorRecord?
    var up = true
    var voter = true
    var clockOffsetMs = 0
    var syncScheduled = false
    /// Bumped by a power loss: requests sent to the previous process are never processed.
    var incarnation = 0
    /// Request IDs this incarnation has processed; a duplicate delivery is dropped.
    var processed: Set<Int> = []
    /// Answers computed but not sent: they go out when the group commit is durable.
    var waiting: [(op: Int, round: Int, reply: AcceptorReply)] = []
    /// Values whose data (staged or adopted) this drive holds. Staging is durable before an
    /// accept is sent, and deletion is durable at once, so one set serves both views.
    var data: Set<Int> = []
    /// Data a collector condemned: accepts carrying it are refused `noData`.
    var condemnedDurable: Set<Int> = []
    var condemned: Set<Int> = []
    /// Collector runs whose condemnation waits for the group commit.
    var condemnWaiting: [Int] = []

    /// Power loss: whatever was not synced is gone, and so are the answers waiting for it.
    mutating func losePower() {
        up = false
        incarnation += 1
        processed.removeAll()
        volatile = durable
        condemned = condemnedDurable
        waiting.removeAll()
        condemnWaiting.removeAll()
        syncScheduled = false
    }

    /// The drive comes back empty (a replaced disk, a restore gone wrong). It knows its
    /// catalog is new, so under the learner rule it no longer votes.
    mutating func resetToEmpty(abstains: Bool) {
        durable = nil
        volatile = nil
        data.removeAll()
        condemned.removeAll()
        condemnedDurable.removeAll()
        voter = voter && !abstains
    }
}

/// A coordinating node: its clock, and its incarnation so a crash abandons its operations.
struct SimulatedCoordinator {
    var clock: HybridLogicalClock
    /// "Issued up to", durable across crashes (on the node's drives in the real system).
    var reservedUpToMs: UInt64 = 0
    var alive = true
    var epoch = 0
    var clockOffsetMs = 0
}
