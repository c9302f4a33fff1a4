import Testing
@testable import StowageCluster

/// The reference rule's conditions one at a time (the simulator tests it in histories).
@Suite struct DataCollectionRuleTests {
    let ref: [UInt8] = [1, 2, 3]
    func value(_ ms: UInt64, ref: [UInt8], id: UInt64) -> AcceptedValue {
        AcceptedValue(
            ballot: Ballot(ms: ms, logical: 0, nodeIndex: 0, incarnation: 0),
            value: RegisterValue(writeID: WriteID(high: 0, low: id), dataRef: ref))
    }

    @Test func collectsSupersededDataNoDriveStillReferencesAboveTheChosenBallot() {
        let chosen = value(20, ref: [9], id: 2)
        let verdict = DataCollectionRule.verdict(
            dataRef: ref, writerFenced: true, chosen: chosen,
            drives: [.accepted(value(10, ref: ref, id: 1)), .accepted(chosen), .accepted(nil)])
        #expect(verdict == .collect)
    }

    @Test func keepsWhileTheWriterMayRun() {
        let verdict = DataCollectionRule.verdict(dataRef: ref, writerFenced: false, chosen: nil, drives: [.accepted(nil)])
        #expect(verdict != .collect)
    }

    @Test func keepsWhenADriveIsSilent() {
        let verdict = DataCollectionRule.verdict(
            dataRef: ref, writerFenced: true, chosen: value(20, ref: [9], id: 2), drives: [.accepted(nil), .silent])
        #expect(verdict != .collect)
    }

    /// A PutObjectAcl, a write-back or an identity accept re-chooses the same data at a
    /// higher ballot (F6.1): the first draft's "higher chosen ballot" rule deleted it.
    @Test func keepsDataTheChosenValueReferences() {
        let chosen = value(30, ref: ref, id: 1)
        let drives: [DataCollectionRule.DriveView] = [.accepted(value(10, ref: ref, id: 1)), .accepted(chosen)]
        #expect(DataCollectionRule.verdict(dataRef: ref, writerFenced: true, chosen: chosen, drives: drives) != .collect)
        var byBallot = RegisterSafetyRules.all
        byBallot.collectByReference = false
        #expect(DataCollectionRule.verdict(dataRef: ref, writerFenced: true, chosen: chosen, drives: drives, rules: byBallot) == .collect)
    }

    /// A value accepted above the chosen ballot may still be rolled forward (F6.2).
    @Test func keepsDataAcceptedAboveTheChosenBallot() {
        let verdict = DataCollectionRule.verdict(
            dataRef: ref, writerFenced: true, chosen: value(20, ref: [9], id: 2),
            drives: [.accepted(value(25, ref: ref, id: 1)), .accepted(nil)])
        #expect(verdict != .collect)
    }

    /// Staging no accept ever reached (F6.3) goes once nothing is chosen and nothing refers to it.
    @Test func collectsNeverAcceptedStaging() {
        #expect(DataCollectionRule.verdict(dataRef: ref, writerFenced: true, chosen: nil, drives: [.accepted(nil), .accepted(nil)]) == .collect)
        let accepted = DataCollectionRule.verdict(
            dataRef: ref, writerFenced: true, chosen: nil, drives: [.accepted(value(5, ref: ref, id: 1)), .accepted(nil)])
        #expect(accepted != .collect)
    }
}
