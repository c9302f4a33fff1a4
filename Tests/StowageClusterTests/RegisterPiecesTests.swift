import Testing
@testable import StowageCluster

private func b(_ ms: UInt64, _ logical: UInt16 = 0, node: UInt16 = 0) -> Ballot {
    Ballot(ms: ms, logical: logical, nodeIndex: node, incarnation: 1)
}

private func value(_ n: UInt64) -> RegisterValue { RegisterValue(writeID: WriteID(high: 0, low: n)) }

@Suite struct BallotAndClockTests {
    @Test func ballotBytesSortLikeBallots() {
        let ballots = [b(1), b(1, 1), b(2), b(2, node: 3), Ballot(ms: 2, logical: 0, nodeIndex: 3, incarnation: 9), b(0xFFFF_FFFF_FFFF)]
        for x in ballots {
            #expect(Ballot(bytes: x.bytes) == x)
            #expect(x.bytes.withUnsafeBytes { Ballot(raw: $0) } == x)
            for y in ballots { #expect((x < y) == x.bytes.lexicographicallyPrecedes(y.bytes)) }
        }
        #expect(Ballot(bytes: [1, 2, 3]) == nil)
        #expect([UInt8](repeating: 1, count: 13).withUnsafeBytes { Ballot(raw: $0) } == nil)
        let id = WriteID(high: 0x0102_0304_0506_0708, low: 0xF0E0_D0C0_B0A0_9080)
        #expect(WriteID(bytes: id.bytes) == id && id.bytes.withUnsafeBytes { WriteID(raw: $0) } == id)
        #expect([UInt8](repeating: 1, count: 15).withUnsafeBytes { WriteID(raw: $0) } == nil)
    }

    @Test func clockIsMonotoneAcrossWallClockJumps() {
        var clock = HybridLogicalClock(nodeIndex: 1, incarnation: 5, reservedUpToMs: 0)
        var issued: [Ballot] = []
        for wall: UInt64 in [1_000, 1_000, 1_200, 900, 900, 5_000, 10] {
            while true {
                switch clock.issue(wallMs: wall) {
                case .ballot(let ballot): issued.append(ballot)
                case .reserve(let upTo): clock.reserved(upToMs: upTo); continue
                }
                break
            }
        }
        #expect(issued == issued.sorted() && Set(issued).count == issued.count)
        #expect(issued.last!.ms == 5_000 && issued.last!.logical == 1)
    }

    @Test func clockAsksForAReservationBeforeIssuingBeyondIt() {
        var clock = HybridLogicalClock(nodeIndex: 1, incarnation: 5, reservedUpToMs: 0)
        #expect(clock.issue(wallMs: 1_000) == .reserve(upToMs: 1_200))
        clock.reserved(upToMs: 1_200)
        guard case .ballot(let first) = clock.issue(wallMs: 1_000) else { Issue.record("no ballot"); return }
        #expect(first.ms == 1_000)
        #expect(clock.issue(wallMs: 2_500) == .reserve(upToMs: 2_700))
    }

    @Test func restartedClockIssuesAboveItsReservation() {
        // The previous incarnation reserved up to 9 000 and may have issued anything below it;
        // the wall clock went back to 1 000 across the restart.
        var clock = HybridLogicalClock(nodeIndex: 1, incarnation: 6, reservedUpToMs: 9_000)
        guard case .reserve(let upTo) = clock.issue(wallMs: 1_000) else { Issue.record("issued without reserving"); return }
        clock.reserved(upToMs: upTo)
        guard case .ballot(let ballot) = clock.issue(wallMs: 1_000) else { Issue.record("no ballot"); return }
        #expect(ballot > Ballot(ms: 9_000, logical: .max, nodeIndex: 9, incarnation: .max))
    }

    @Test func clockIssuesAboveARefusal() {
        var clock = HybridLogicalClock(nodeIndex: 1, incarnation: 5, reservedUpToMs: 0)
        let refusal = Ballot(ms: 50_000, logical: 7, nodeIndex: 9, incarnation: 3)
        guard case .reserve(let upTo) = clock.issue(wallMs: 1_000, above: refusal) else { Issue.record("no reservation"); return }
        clock.reserved(upToMs: upTo)
        guard case .ballot(let ballot) = clock.issue(wallMs: 1_000, above: refusal) else { Issue.record("no ballot"); return }
        #expect(ballot > refusal && ballot.ms == 50_000 && ballot.logical == 8)
    }
}

@Suite struct AcceptorRulesTests {
    let context = AcceptorRules.Context(wallMs: 10_000, dataPresent: true)

    @Test func prepareAboveTopPromisesAndReportsAccepted() {
        let record = AcceptorRecord(promised: b(5), accepted: AcceptedValue(ballot: b(4), value: value(1)), chosen: true)
        let step = AcceptorRules.handle(.prepare(b(6)), record: record, context: context)
        #expect(step.record?.promised == b(6))
        #expect(step.reply == .promise(accepted: record.accepted, chosen: true))
        let refused = AcceptorRules.handle(.prepare(b(5)), record: record, context: context)
        #expect(refused.record == nil && refused.reply == .rejected(top: b(5), writeID: value(1).writeID))
    }

    @Test func acceptRaisesPromisedAndResetsChosen() {
        let record = AcceptorRecord(promised: b(5), accepted: AcceptedValue(ballot: b(4), value: value(1)), chosen: true)
        let step = AcceptorRules.handle(.accept(b(7), value(2), carriesData: true), record: record, context: context)
        #expect(step.record == AcceptorRecord(promised: b(7), accepted: AcceptedValue(ballot: b(7), value: value(2)), chosen: false))
        #expect(step.reply == .accepted(voter: true, holdsData: true))
        // Below the promise, or at the accepted ballot with another write: refused.
        #expect(AcceptorRules.handle(.accept(b(4, 1), value(3), carriesData: false), record: record, context: context).reply
            == .rejected(top: b(5), writeID: value(1).writeID))
        let same = AcceptorRecord(promised: b(7), accepted: AcceptedValue(ballot: b(7), value: value(2)))
        #expect(AcceptorRules.handle(.accept(b(7), value(3), carriesData: false), record: same, context: context).record == nil)
        // The same pair again is accepted (an idempotent repeat).
        #expect(AcceptorRules.handle(.accept(b(7), value(2), carriesData: false), record: same, context: context).reply
            == .accepted(voter: true, holdsData: true))
    }

    @Test func acceptWithoutItsStagedDataIsRefused() {
        var noData = context
        noData.dataPresent = false
        let step = AcceptorRules.handle(.accept(b(7), value(2), carriesData: true), record: nil, context: noData)
        #expect(step.record == nil && step.reply == .noData)
    }

    @Test func ballotsTooFarAheadAreRefused() {
        let step = AcceptorRules.handle(.prepare(b(10_501)), record: nil, context: context)
        #expect(step.record == nil && step.reply == .clockAhead(driveMs: 10_000))
        #expect(AcceptorRules.handle(.prepare(b(10_500)), record: nil, context: context).record != nil)
    }

    @Test func learnersApplyButDoNotVote() {
        var learner = context
        learner.isVoter = false
        #expect(AcceptorRules.handle(.prepare(b(3)), record: nil, context: learner).reply == .notVoter)
        #expect(AcceptorRules.handle(.read, record: nil, context: learner).reply == .notVoter)
        let accepted = AcceptorRules.handle(.accept(b(3), value(1), carriesData: false), record: nil, context: learner)
        #expect(accepted.reply == .accepted(voter: false, holdsData: true) && accepted.record != nil)
    }

    @Test func floorsRefuseStaleBallots() {
        var floored = context
        floored.setFloor = b(8)
        #expect(AcceptorRules.handle(.prepare(b(8)), record: nil, context: floored).reply == .rejected(top: b(8), writeID: nil))
        var rowless = context
        rowless.rowlessFloor = b(8)
        #expect(AcceptorRules.handle(.accept(b(7), value(1), carriesData: false), record: nil, context: rowless).record == nil)
        // The rowless floor does not apply to a key that has a row.
        let row = AcceptorRecord(promised: b(1))
        #expect(AcceptorRules.handle(.accept(b(7), value(1), carriesData: false), record: row, context: rowless).record != nil)
    }

    @Test func learnAndCommit() {
        let record = AcceptorRecord(promised: b(7), accepted: AcceptedValue(ballot: b(7), value: value(2)))
        #expect(AcceptorRules.handle(.learn(b(7), value(2).writeID), record: record, context: context).record?.chosen == true)
        #expect(AcceptorRules.handle(.learn(b(6), value(2).writeID), record: record, context: context).record == nil)
        // Commit ignores promised: a value known chosen lands even below a newer promise.
        let promisedHigh = AcceptorRecord(promised: b(20), accepted: AcceptedValue(ballot: b(7), value: value(2)))
        let committed = AcceptorRules.handle(.commit(b(9), value(3)), record: promisedHigh, context: context)
        #expect(committed.record == AcceptorRecord(promised: b(20), accepted: AcceptedValue(ballot: b(9), value: value(3)), chosen: true))
        #expect(AcceptorRules.handle(.commit(b(6), value(4)), record: promisedHigh, context: context).record == nil)
    }
}
