/// One coordinator operation on one register (CLUSTER.md §3) as a pure state machine: the
/// caller feeds it ballots, drive answers, deadlines and decisions, and carries out the
/// actions it returns. Nothing here does I/O or reads a clock, so the same machine runs in
/// the backend and, replayably, in the simulator.
///
/// ```swift
/// var op = RegisterOperation(.blindWrite(value), setSize: 6, dataQuorum: 4)
/// var actions = op.start()                     // [.issueBallot(above: nil, backoff: false)]
/// actions = op.proceed(ballot: clock.next())   // [.send(round: 1, request: .accept(...))]
/// actions = op.receive(round: 1, slot: 0, .reply(.accepted(voter: true, holdsData: true)))
/// // ... until an action is .finish(outcome)
/// ```
public struct RegisterOperation: Sendable {
    public enum Kind: Sendable, Equatable {
        /// PUT, DELETE (a tombstone value), part upload: no precondition.
        case blindWrite(RegisterValue)
        /// If-Match, If-None-Match, bucket CAS, ...: the machine asks for a ``Decision`` on
        /// the current value with ``Action/evaluate(current:)``.
        case conditionalWrite
        case read
    }

    public enum Decision: Sendable, Equatable {
        case write(RegisterValue)
        /// The precondition does not hold: the operation answers ``Outcome/preconditionFailed(_:)``.
        case refuse
    }

    public enum Action: Sendable, Equatable {
        /// Send `request` to every drive of the set; answers come back through
        /// ``receive(round:slot:_:)`` with this round. A round without a number (`nil`) is
        /// fire-and-forget (learn).
        case send(round: Int?, request: AcceptorRequest)
        /// Issue a ballot above `above` from the node's clock (after a jittered pause when
        /// `backoff`), then call ``proceed(ballot:)``.
        case issueBallot(above: Ballot?, backoff: Bool)
        /// Evaluate the precondition on the current value (nil: never written) and call
        /// ``decide(_:)``.
        case evaluate(current: AcceptedValue?)
        case finish(Outcome)
    }

    public enum Outcome: Sendable, Equatable {
        /// The write took effect at this ballot.
        case written(AcceptedValue)
        /// The read's value, chosen (nil: never written; a tombstone: deleted).
        case found(AcceptedValue?)
        /// The precondition failed on this chosen value (nil: never written).
        case preconditionFailed(AcceptedValue?)
        /// 503: no quorum; nothing this operation proposed took effect.
        case unavailable(String)
        /// 503: no quorum, and the write may still take effect ("outcome unknown; retry").
        case outcomeUnknown(String)
    }

    enum PreparePurpose: Sendable, Equatable { case conditional, recovery, writeBack }
    enum AcceptPurpose: Sendable, Equatable { case newValue, identity, recovery, writeBack }
    enum Pending: Sendable, Equatable { case blindAccept, prepare(PreparePurpose) }

    enum Phase: Sendable {
        case idle
        case awaitingBallot(Pending)
        case reading(RoundTally)
        case preparing(PreparePurpose, RoundTally)
        case evaluating(current: AcceptedValue?, knownChosen: Bool)
        case accepting(AcceptPurpose, RegisterValue, RoundTally)
        case done
    }

    public let kind: Kind
    public let setSize: Int
    /// Q: prepare, accept and write-back.
    public let quorum: Int
    /// R: answers a read needs.
    public let readQuorum: Int
    /// W_data: accepting drives that must hold a new value's data (0 for metadata-only writes).
    public let dataQuorum: Int
    let rules: RegisterSafetyRules
    var phase: Phase = .idle
    var round = 0
    var ballot: Ballot = .zero
    var attemptsLeft: Int
    /// The value this operation proposes (blind, or conditional once decided).
    var proposal: RegisterValue?

    public init(_ kind: Kind, setSize: Int, dataQuorum: Int = 0, attempts: Int = 4) {
        self.init(kind, setSize: setSize, dataQuorum: dataQuorum, attempts: attempts, rules: .all)
    }

    package init(_ kind: Kind, setSize: Int, dataQuorum: Int, attempts: Int, rules: RegisterSafetyRules) {
        precondition(setSize > 0 && attempts > 0)
        self.kind = kind
        self.setSize = setSize
        self.quorum = setSize / 2 + 1
        self.readQuorum = setSize - quorum + 1
        self.dataQuorum = dataQuorum
        self.attemptsLeft = attempts
        self.rules = rules
        if case .blindWrite(let value) = kind { proposal = value }
    }

    public var isFinished: Bool { if case .done = phase { return true } else { return false } }

    /// This operation sent its own value in an accept that not every drive refused: from here
    /// on, giving up means "outcome unknown", never "nothing applied".
    public internal(set) var mayHaveTakenEffect = false

    public mutating func start() -> [Action] {
        guard case .idle = phase else { return [] }
        switch kind {
        case .blindWrite: return askForBallot(.blindAccept, above: nil, backoff: false)
        case .conditionalWrite: return askForBallot(.prepare(.conditional), above: nil, backoff: false)
        case .read: return sendRead()
        }
    }

    public mutating func proceed(ballot issued: Ballot) -> [Action] {
        guard case .awaitingBallot(let pending) = phase else { return [] }
        ballot = issued
        switch pending {
        case .blindAccept:
            return sendAccept(.newValue, proposal!, carriesData: dataQuorum > 0)
        case .prepare(let purpose):
            round += 1
            phase = .preparing(purpose, RoundTally(setSize: setSize))
            return [.send(round: round, request: .prepare(issued))]
        }
    }

    public mutating func decide(_ decision: Decision) -> [Action] {
        guard case .evaluating(let current, let knownChosen) = phase else { return [] }
        switch decision {
        case .write(let value):
            proposal = value
            return sendAccept(.newValue, value, carriesData: dataQuorum > 0)
        case .refuse:
            // F5: a refusal derived from a value not known chosen first makes it chosen,
            // or a later read could see a different value than the one the 412 was based on.
            guard let current, !knownChosen, rules.identityAcceptBefore412 else {
                return finish(.preconditionFailed(current))
            }
            return sendAccept(.identity, current.value, carriesData: false)
        }
    }

    public mutating func receive(round answered: Int, slot: Int, _ delivery: Delivery) -> [Action] {
        guard answered == round else { return [] }
        switch phase {
        case .reading(var tally):
            guard tally.record(slot: slot, delivery) else { return [] }
            phase = .reading(tally)
        case .preparing(let purpose, var tally):
            guard tally.record(slot: slot, delivery) else { return [] }
            phase = .preparing(purpose, tally)
        case .accepting(let purpose, let value, var tally):
            guard tally.record(slot: slot, delivery) else { return [] }
            phase = .accepting(purpose, value, tally)
        default:
            return []
        }
        return advance()
    }

    /// The round's deadline passed (or, for a read, its grace after R answers).
    public mutating func expire(round expiring: Int) -> [Action] {
        guard expiring == round else { return [] }
        switch phase {
        case .reading(var tally): tally.expire(); phase = .reading(tally)
        case .preparing(let purpose, var tally): tally.expire(); phase = .preparing(purpose, tally)
        case .accepting(let purpose, let value, var tally): tally.expire(); phase = .accepting(purpose, value, tally)
        default: return []
        }
        return advance()
    }

    // MARK: - Sending

    mutating func askForBallot(_ pending: Pending, above: Ballot?, backoff: Bool) -> [Action] {
        phase = .awaitingBallot(pending)
        return [.issueBallot(above: above, backoff: backoff)]
    }

    mutating func sendRead() -> [Action] {
        round += 1
        phase = .reading(RoundTally(setSize: setSize))
        return [.send(round: round, request: .read)]
    }

    mutating func sendAccept(_ purpose: AcceptPurpose, _ value: RegisterValue, carriesData: Bool) -> [Action] {
        round += 1
        phase = .accepting(purpose, value, RoundTally(setSize: setSize))
        return [.send(round: round, request: .accept(ballot, value, carriesData: carriesData))]
    }

    mutating func finish(_ outcome: Outcome) -> [Action] {
        phase = .done
        return [.finish(outcome)]
    }
}
