import StowageCore

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

/// `listRange`: one drive's register rows within a scope, in key (byte) order, for the
/// listing merge (CLUSTER.md §3, §5). Rows with only a promise are left out; tombstones are
/// not (a key deleted at a ballot must beat older values on other drives).
///
/// ```swift
/// let request = ListRangeRequest(scope: bucketID, prefix: Array("photos/".utf8), after: nil, limit: 1_000)
/// ```
public struct ListRangeRequest: Sendable, Hashable {
    public var scope: [UInt8]
    public var prefix: [UInt8]
    /// Continue past this key (exclusive); nil: from the start of the prefix.
    public var after: [UInt8]?
    /// `after` itself is included: a listing that seeks to a key (a marker's successor, the
    /// key after a common prefix) starts there.
    public var inclusive: Bool
    public var limit: Int
    /// A delimiter listing's delimiter: a key that holds it after the prefix is answered and
    /// the rest of its common prefix skipped (the drive seeks past it), so a listing of a
    /// hundred common prefixes reads a hundred rows, not every key under them. A key without
    /// it after the prefix is answered as usual. Nil: every row.
    public var delimiter: [UInt8]?
    /// False: rows come without their values' payloads (a listing needs one drive's; the
    /// others only say which keys they hold at which ballot). Tombstones and write IDs come
    /// either way.
    public var values: Bool

    public init(
        scope: [UInt8], prefix: [UInt8] = [], after: [UInt8]? = nil, inclusive: Bool = false, limit: Int = 1_000, delimiter: [UInt8]? = nil,
        values: Bool = true
    ) {
        self.values = values
        self.scope = scope
        self.prefix = prefix
        self.after = after
        self.inclusive = inclusive
        self.limit = limit
        self.delimiter = delimiter.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The end of the common prefix `key` rolls up into under this request's delimiter (nil:
    /// the key stands alone).
    public func groupEnd(of key: [UInt8]) -> Int? {
        guard let delimiter else { return nil }
        return KeyBytes.endOfFirst(delimiter, in: key, from: prefix.count)
    }
}

/// One key as a drive holds it.
public struct ListedRow: Sendable, Hashable {
    public var key: [UInt8]
    public var accepted: AcceptedValue
    public var chosen: Bool
    /// False when the drive was asked for rows without values (the payload is left empty).
    public var hasValue: Bool

    public init(key: [UInt8], accepted: AcceptedValue, chosen: Bool, hasValue: Bool = true) {
        self.key = key
        self.accepted = accepted
        self.chosen = chosen
        self.hasValue = hasValue
    }
}

public enum ListRangeReply: Sendable, Hashable {
    /// `complete`: the drive has no further rows in the range; otherwise the last row's key
    /// is how far this drive's answer covers (its horizon).
    case rows([ListedRow], complete: Bool)
    /// A learner: it never answers "absent", so it does not list.
    case notVoter
}
