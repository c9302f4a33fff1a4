import Testing
@testable import StowageCluster

private func b(_ ms: UInt64) -> Ballot { Ballot(ms: ms, logical: 0, nodeIndex: 0, incarnation: 1) }
private func value(_ n: UInt64) -> RegisterValue { RegisterValue(writeID: WriteID(high: 0, low: n)) }
private let accepted = Delivery.reply(.accepted(voter: true, holdsData: true))
private func refused(_ top: UInt64) -> Delivery { .reply(.rejected(top: b(top), writeID: nil)) }

/// Scripted runs of the coordinator's state machine: each answer in, the actions out.
@Suite struct RegisterOperationTests {
    @Test func blindWriteAcknowledgesAtQuorumThenLearns() {
        var op = RegisterOperation(.blindWrite(value(1)), setSize: 3)
        #expect(op.start() == [.issueBallot(above: nil, backoff: false)])
        #expect(op.proceed(ballot: b(10)) == [.send(round: 1, request: .accept(b(10), value(1), carriesData: false))])
        #expect(op.receive(round: 1, slot: 0, accepted) == [])
        #expect(op.receive(round: 0, slot: 1, accepted) == [], "an answer from another round is ignored")
        #expect(op.receive(round: 1, slot: 0, accepted) == [], "a second answer from one drive is ignored")
        let done = AcceptedValue(ballot: b(10), value: value(1))
        #expect(op.receive(round: 1, slot: 2, accepted) == [
            .send(round: nil, request: .learn(b(10), value(1).writeID)), .finish(.written(done)),
        ])
        #expect(op.isFinished)
    }

    @Test func blindWriteWaitsForItsDataQuorum() {
        var op = RegisterOperation(.blindWrite(value(1)), setSize: 6, dataQuorum: 5)
        _ = op.start()
        _ = op.proceed(ballot: b(10))
        for slot in 0..<4 { #expect(op.receive(round: 1, slot: slot, accepted) == []) }
        #expect(op.receive(round: 1, slot: 4, .reply(.accepted(voter: true, holdsData: false))) == [])
        #expect(op.receive(round: 1, slot: 5, accepted).last == .finish(.written(AcceptedValue(ballot: b(10), value: value(1)))))
    }

    @Test func refusedEverywhereRetriesAboveTheRefusal() {
        var op = RegisterOperation(.blindWrite(value(1)), setSize: 3)
        _ = op.start()
        _ = op.proceed(ballot: b(10))
        _ = op.receive(round: 1, slot: 0, refused(12))
        _ = op.receive(round: 1, slot: 1, .notDelivered)
        #expect(op.receive(round: 1, slot: 2, refused(15)) == [.issueBallot(above: b(15), backoff: true)])
        #expect(op.proceed(ballot: b(16)) == [.send(round: 2, request: .accept(b(16), value(1), carriesData: false))])
    }

    @Test func partialAcceptRecoversItsOwnWrite() {
        var op = RegisterOperation(.blindWrite(value(1)), setSize: 3)
        _ = op.start()
        _ = op.proceed(ballot: b(10))
        _ = op.receive(round: 1, slot: 0, accepted)
        _ = op.receive(round: 1, slot: 1, refused(12))
        // One drive may have applied it: no retry under a new ballot, recovery instead.
        #expect(op.expire(round: 1) == [.issueBallot(above: b(12), backoff: false)])
        #expect(op.proceed(ballot: b(13)) == [.send(round: 2, request: .prepare(b(13)))])
        let mine = AcceptedValue(ballot: b(10), value: value(1))
        _ = op.receive(round: 2, slot: 0, .reply(.promise(accepted: mine, chosen: false)))
        #expect(op.receive(round: 2, slot: 1, .reply(.promise(accepted: nil, chosen: false)))
            == [.send(round: 3, request: .accept(b(13), value(1), carriesData: false))])
        _ = op.receive(round: 3, slot: 0, accepted)
        #expect(op.receive(round: 3, slot: 2, accepted).last == .finish(.written(AcceptedValue(ballot: b(13), value: value(1)))))
    }

    @Test func partialAcceptOvertakenIsOutcomeUnknown() {
        var op = RegisterOperation(.blindWrite(value(1)), setSize: 3)
        _ = op.start()
        _ = op.proceed(ballot: b(10))
        _ = op.receive(round: 1, slot: 0, .outcomeUnknown)
        _ = op.receive(round: 1, slot: 1, refused(12))
        _ = op.receive(round: 1, slot: 2, refused(12))
        _ = op.proceed(ballot: b(13))
        let other = AcceptedValue(ballot: b(12), value: value(2))
        _ = op.receive(round: 2, slot: 1, .reply(.promise(accepted: other, chosen: false)))
        let actions = op.receive(round: 2, slot: 2, .reply(.promise(accepted: other, chosen: false)))
        guard case .finish(.outcomeUnknown)? = actions.last else { Issue.record("\(actions)"); return }
    }

    @Test func refusalOnAnUnchosenValueWritesItBackFirst() {
        var op = RegisterOperation(.conditionalWrite, setSize: 3)
        _ = op.start()
        #expect(op.proceed(ballot: b(20)) == [.send(round: 1, request: .prepare(b(20)))])
        let current = AcceptedValue(ballot: b(10), value: value(7))
        _ = op.receive(round: 1, slot: 0, .reply(.promise(accepted: current, chosen: false)))
        #expect(op.receive(round: 1, slot: 1, .reply(.promise(accepted: nil, chosen: false))) == [.evaluate(current: current)])
        // F5: the identity accept makes the value the 412 is based on chosen.
        #expect(op.decide(.refuse) == [.send(round: 2, request: .accept(b(20), value(7), carriesData: false))])
        _ = op.receive(round: 2, slot: 0, accepted)
        #expect(op.receive(round: 2, slot: 1, accepted).last == .finish(.preconditionFailed(AcceptedValue(ballot: b(20), value: value(7)))))
    }

    @Test func refusalOnAChosenValueAnswersAtOnce() {
        var op = RegisterOperation(.conditionalWrite, setSize: 3)
        _ = op.start()
        _ = op.proceed(ballot: b(20))
        let current = AcceptedValue(ballot: b(10), value: value(7))
        _ = op.receive(round: 1, slot: 0, .reply(.promise(accepted: current, chosen: true)))
        _ = op.receive(round: 1, slot: 1, .reply(.promise(accepted: nil, chosen: false)))
        #expect(op.decide(.refuse) == [.finish(.preconditionFailed(current))])
    }

    @Test func conditionalWriteProposesItsValue() {
        var op = RegisterOperation(.conditionalWrite, setSize: 3, dataQuorum: 2)
        _ = op.start()
        _ = op.proceed(ballot: b(20))
        _ = op.receive(round: 1, slot: 0, .reply(.promise(accepted: nil, chosen: false)))
        #expect(op.receive(round: 1, slot: 2, .reply(.promise(accepted: nil, chosen: false))) == [.evaluate(current: nil)])
        #expect(op.decide(.write(value(3))) == [.send(round: 2, request: .accept(b(20), value(3), carriesData: true))])
    }

    @Test func readServesAChosenValueFromReadQuorum() {
        var op = RegisterOperation(.read, setSize: 6)  // Q = 4, R = 3
        #expect(op.start() == [.send(round: 1, request: .read)])
        let current = AcceptedValue(ballot: b(10), value: value(7))
        _ = op.receive(round: 1, slot: 0, .reply(.state(accepted: current, chosen: false)))
        _ = op.receive(round: 1, slot: 1, .reply(.notVoter))
        _ = op.receive(round: 1, slot: 2, .reply(.state(accepted: nil, chosen: false)))
        #expect(op.receive(round: 1, slot: 3, .reply(.state(accepted: current, chosen: true))) == [.finish(.found(current))])
    }

    @Test func readOfAnUnchosenValueWritesBackTheNewest() {
        var op = RegisterOperation(.read, setSize: 3)
        _ = op.start()
        let older = AcceptedValue(ballot: b(10), value: value(7))
        _ = op.receive(round: 1, slot: 0, .reply(.state(accepted: older, chosen: false)))
        #expect(op.receive(round: 1, slot: 1, .reply(.state(accepted: nil, chosen: false))) == [], "waits for the grace")
        #expect(op.expire(round: 1) == [.issueBallot(above: b(10), backoff: false)])
        _ = op.proceed(ballot: b(30))
        let newer = AcceptedValue(ballot: b(25), value: value(8))
        _ = op.receive(round: 2, slot: 0, .reply(.promise(accepted: older, chosen: false)))
        #expect(op.receive(round: 2, slot: 2, .reply(.promise(accepted: newer, chosen: false)))
            == [.send(round: 3, request: .accept(b(30), value(8), carriesData: false))])
        _ = op.receive(round: 3, slot: 0, accepted)
        #expect(op.receive(round: 3, slot: 2, accepted).last == .finish(.found(AcceptedValue(ballot: b(30), value: value(8)))))
    }

    @Test func readOfNothingIsAbsent() {
        var op = RegisterOperation(.read, setSize: 3)
        _ = op.start()
        _ = op.receive(round: 1, slot: 0, .reply(.state(accepted: nil, chosen: false)))
        #expect(op.receive(round: 1, slot: 1, .reply(.state(accepted: nil, chosen: false))) == [.finish(.found(nil))])
    }

    @Test func noQuorumIsUnavailableAfterItsAttempts() {
        var op = RegisterOperation(.read, setSize: 3, attempts: 2)
        _ = op.start()
        _ = op.expire(round: 1)
        let actions = op.expire(round: 2)
        guard case .finish(.unavailable)? = actions.last else { Issue.record("\(actions)"); return }
    }
}
