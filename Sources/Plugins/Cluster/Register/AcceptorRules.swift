/// The acceptor of CLUSTER.md §3 as a pure function: a request and a key's record in, the
/// record to persist (if it changed) and the reply out. The drive's catalog persists the
/// record in one transaction and replies only once it is durable.
///
/// ```swift
/// let step = AcceptorRules.handle(.prepare(b), record: row, context: ctx)
/// if let changed = step.record { try catalog.write(changed) }   // durable first
/// reply(step.reply)
/// ```
public enum AcceptorRules {
    /// What the drive knows beyond the key's record.
    public struct Context: Sendable, Equatable {
        /// The drive's wall clock.
        public var wallMs: UInt64
        /// Ballots more than this far ahead of `wallMs` are refused (invariant 5).
        public var maxClockOffsetMs: UInt64
        /// The drive's slot is `active` in the cluster map; otherwise it is a learner.
        public var isVoter: Bool
        /// Set floor: the drive refuses ballots at or below it (drive replacement).
        public var setFloor: Ballot
        /// Raised by tombstone purges; applies to keys with no record.
        public var rowlessFloor: Ballot
        /// For `accept`/`commit`: the value's data is on this drive (staged or adopted).
        public var dataPresent: Bool

        public init(
            wallMs: UInt64, maxClockOffsetMs: UInt64 = 500, isVoter: Bool = true,
            setFloor: Ballot = .zero, rowlessFloor: Ballot = .zero, dataPresent: Bool = false
        ) {
            self.wallMs = wallMs
            self.maxClockOffsetMs = maxClockOffsetMs
            self.isVoter = isVoter
            self.setFloor = setFloor
            self.rowlessFloor = rowlessFloor
            self.dataPresent = dataPresent
        }
    }

    public struct Step: Sendable, Equatable {
        /// The record to persist before replying; nil when nothing changed.
        public var record: AcceptorRecord?
        public var reply: AcceptorReply
    }

    public static func handle(_ request: AcceptorRequest, record: AcceptorRecord?, context: Context) -> Step {
        handle(request, record: record, context: context, rules: .all)
    }

    package static func handle(
        _ request: AcceptorRequest, record stored: AcceptorRecord?, context: Context, rules: RegisterSafetyRules
    ) -> Step {
        if let b = request.proposedBallot, b.ms > context.wallMs + context.maxClockOffsetMs {
            return Step(record: nil, reply: .clockAhead(driveMs: context.wallMs))
        }
        let record = stored ?? AcceptorRecord()
        var top = max(record.promised, context.setFloor)
        if rules.acceptRaisesPromised, let accepted = record.accepted { top = max(top, accepted.ballot) }
        if stored == nil { top = max(top, context.rowlessFloor) }
        let rejection = Step(record: nil, reply: .rejected(top: top, writeID: record.accepted?.value.writeID))

        switch request {
        case .prepare(let b):
            guard context.isVoter else { return Step(record: nil, reply: .notVoter) }
            guard b > top else { return rejection }
            guard b > context.setFloor || context.setFloor == .zero else { return rejection }
            var next = record
            next.promised = b
            return Step(record: next, reply: .promise(accepted: record.accepted, chosen: record.chosen))

        case .accept(let b, let value, let carriesData):
            let proposal = AcceptedValue(ballot: b, value: value)
            let repeatOfAccepted = record.accepted.map { $0.isSameWrite(as: proposal) } ?? false
            guard b >= top, b > (record.accepted?.ballot ?? .zero) || repeatOfAccepted else { return rejection }
            // Ballots at or below the set floor come from before a drive replacement.
            guard b > context.setFloor || context.setFloor == .zero else { return rejection }
            if carriesData && !context.dataPresent { return Step(record: nil, reply: .noData) }
            var next = record
            next.accepted = proposal
            next.chosen = repeatOfAccepted && record.chosen
            if rules.acceptRaisesPromised { next.promised = max(record.promised, b) }
            return Step(record: next, reply: .accepted(voter: context.isVoter, holdsData: context.dataPresent))

        case .commit(let b, let value):
            let proposal = AcceptedValue(ballot: b, value: value)
            var next = record
            if let accepted = record.accepted, accepted.isSameWrite(as: proposal) {
                next.chosen = true
            } else if b > (record.accepted?.ballot ?? .zero), stored != nil || b > context.rowlessFloor {
                // No set-floor check: the healer commits values chosen long ago onto learners.
                next.accepted = proposal
                next.chosen = true
                next.promised = max(record.promised, b)
            } else {
                return rejection
            }
            return Step(record: next == record ? nil : next, reply: .accepted(voter: context.isVoter, holdsData: context.dataPresent))

        case .learn(let b, let writeID):
            guard let accepted = record.accepted, accepted.ballot == b, accepted.value.writeID == writeID, !record.chosen else {
                return Step(record: nil, reply: .learned)
            }
            var next = record
            next.chosen = true
            return Step(record: next, reply: .learned)

        case .read:
            guard context.isVoter else { return Step(record: nil, reply: .notVoter) }
            return Step(record: nil, reply: .state(accepted: record.accepted, chosen: record.chosen))
        }
    }
}
