import StowageCore
import Testing
@testable import StowageCluster

/// Heartbeat liveness (CLUSTER.md §9) with time passed in: suspect after two missed
/// heartbeats, offline after the timeout only while this node sees a majority.
@Suite struct FailureDetectorTests {
    let settings = FailureDetector.Settings(heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 5_000)
    let a = NodeID("a"), b = NodeID("b"), c = NodeID("c"), d = NodeID("d"), e = NodeID("e")

    @Test func heartbeatsKeepNodesOnline() {
        var detector = FailureDetector(local: a, peers: [a, b, c], settings: settings, nowMs: 0)
        for second in 1...20 {
            let now = UInt64(second) * 1_000
            detector.heard(from: b, atMs: now)
            detector.heard(from: c, atMs: now)
            #expect(detector.evaluate(atMs: now + 500).isEmpty)
        }
        #expect(detector.liveness(of: b) == .online)
        #expect(detector.standing == .connected)
    }

    @Test func twoMissesMakeASuspectAndTheTimeoutOfflineWithAMajority() {
        var detector = FailureDetector(local: a, peers: [a, b, c], settings: settings, nowMs: 0)
        detector.heard(from: b, atMs: 1_000)
        detector.heard(from: c, atMs: 1_000)
        #expect(detector.evaluate(atMs: 2_900).isEmpty)
        // c keeps beating; b has missed two heartbeats.
        detector.heard(from: c, atMs: 3_000)
        #expect(detector.evaluate(atMs: 3_000) == [.node(b, .suspect)])
        #expect(detector.evaluate(atMs: 4_000).isEmpty, "reported once")
        detector.heard(from: c, atMs: 6_000)
        // a and c are a majority of three: b goes offline.
        #expect(detector.evaluate(atMs: 6_000) == [.node(b, .offline)])
        // Heard again: online at once.
        detector.heard(from: b, atMs: 6_500)
        #expect(detector.evaluate(atMs: 6_500) == [.node(b, .online)])
    }

    /// Cut off from both others: this node is the minority, reports itself isolated and marks
    /// nobody offline; when the partition heals, everything is online again.
    @Test func anIsolatedNodeMarksNobodyOffline() {
        var detector = FailureDetector(local: a, peers: [a, b, c], settings: settings, nowMs: 0)
        #expect(detector.evaluate(atMs: 2_000) == [.node(b, .suspect), .node(c, .suspect)])
        #expect(detector.evaluate(atMs: 60_000) == [.standing(.isolated)])
        #expect(detector.liveness(of: b) == .suspect)
        #expect(detector.liveness(of: c) == .suspect)
        detector.heard(from: b, atMs: 61_000)
        detector.heard(from: c, atMs: 61_000)
        #expect(detector.evaluate(atMs: 61_000) == [.standing(.connected), .node(b, .online), .node(c, .online)])
    }

    /// Five nodes, this one sees two others (three of five): the two it cannot hear go offline.
    /// One more loss and it is the minority: they stay as they were judged, and the newly
    /// silent node is only suspect.
    @Test func aMajorityOfFiveMarksTheRestOffline() {
        var detector = FailureDetector(local: a, peers: [a, b, c, d, e], settings: settings, nowMs: 0)
        for second in 1...6 {
            detector.heard(from: b, atMs: UInt64(second) * 1_000)
            detector.heard(from: c, atMs: UInt64(second) * 1_000)
        }
        _ = detector.evaluate(atMs: 3_000)
        #expect(detector.evaluate(atMs: 6_000) == [.node(d, .offline), .node(e, .offline)])
        detector.heard(from: b, atMs: 12_000)
        let changes = detector.evaluate(atMs: 12_000)
        #expect(changes.first == .standing(.isolated))
        #expect(changes.contains(.node(c, .suspect)))
        #expect(detector.liveness(of: d) == .suspect, "an isolated node marks nobody offline")
        #expect(detector.liveness(of: b) == .online)
    }

    @Test func nodesJoinAndLeaveTheMap() {
        var detector = FailureDetector(local: a, peers: [a], settings: settings, nowMs: 0)
        #expect(detector.standing == .connected)
        detector.add(b, atMs: 10_000)
        detector.add(c, atMs: 10_000)
        #expect(detector.peers == [b, c])
        #expect(detector.evaluate(atMs: 10_500).isEmpty)
        detector.remove(c)
        detector.heard(from: b, atMs: 20_000)
        #expect(detector.evaluate(atMs: 20_000).isEmpty)
        #expect(detector.liveness(of: c) == nil)
        #expect(detector.liveness(of: a) == .online)
    }

    @Test func theTimeoutIsAtLeastTwoHeartbeats() {
        #expect(FailureDetector.Settings(heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500).heartbeatTimeoutMs == 2_000)
    }
}
