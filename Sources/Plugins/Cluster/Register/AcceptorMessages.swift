/// A coordinator's request to one drive about one key (CLUSTER.md §3, acceptor verbs).
public enum AcceptorRequest: Sendable, Hashable {
    case prepare(Ballot)
    /// `carriesData`: the coordinator staged this value's data on the drive before asking,
    /// so the drive adopts it and must still find it staged.
    case accept(Ballot, RegisterValue, carriesData: Bool)
    /// The value is known chosen (healer, write-back); never checks `promised`.
    case commit(Ballot, RegisterValue)
    case learn(Ballot, WriteID)
    case read

    /// The ballot a request proposes, if any (checked against the clock-offset bound).
    public var proposedBallot: Ballot? {
        switch self {
        case .prepare(let b), .accept(let b, _, _), .commit(let b, _): return b
        case .learn, .read: return nil
        }
    }
}

/// A drive's answer. Every answer is sent after the drive's change is durable.
public enum AcceptorReply: Sendable, Hashable {
    /// `prepare` succeeded: the promise is durable; what the drive had accepted.
    case promise(accepted: AcceptedValue?, chosen: Bool)
    /// `accept` or `commit` applied. `voter`: counts toward Q (a learner's accept is a side
    /// effect that does not count). `holdsData`: the drive holds the value's data.
    case accepted(voter: Bool, holdsData: Bool)
    /// Refused, nothing changed: the drive's top ballot and the write it has accepted.
    case rejected(top: Ballot, writeID: WriteID?)
    /// Refused, nothing changed: the ballot is more than the allowed offset ahead of the
    /// drive's clock.
    case clockAhead(driveMs: UInt64)
    /// `accept` refused because the data it should adopt is no longer staged.
    case noData
    /// `prepare` or `read` on a learner: it does not vote and never answers "absent".
    case notVoter
    /// `learn` applied (or not applicable).
    case learned
    /// `read`: the drive's accepted value and whether it knows it chosen.
    case state(accepted: AcceptedValue?, chosen: Bool)

    /// True when the drive certainly did not change anything for this request.
    public var isDefiniteNoEffect: Bool {
        switch self {
        case .rejected, .clockAhead, .noData, .notVoter: return true
        case .promise, .accepted, .learned, .state: return false
        }
    }
}

/// How a request to one drive ended, as the coordinator sees it.
public enum Delivery: Sendable, Hashable {
    case reply(AcceptorReply)
    /// Certainly not delivered: the drive never saw it.
    case notDelivered
    /// Sent, but no answer came (timeout, lost connection): it may have been applied.
    case outcomeUnknown

    var isDefiniteNoEffect: Bool {
        switch self {
        case .reply(let reply): return reply.isDefiniteNoEffect
        case .notDelivered: return true
        case .outcomeUnknown: return false
        }
    }
}
