/// The answers of one round (one request sent to every drive of the set) as the coordinator
/// counts them.
struct RoundTally: Sendable {
    private(set) var deliveries: [Delivery?]
    private(set) var answered = 0
    /// The round's deadline passed: drives that did not answer count as "outcome unknown".
    private(set) var expired = false

    init(setSize: Int) {
        deliveries = Array(repeating: nil, count: setSize)
    }

    /// Records a drive's answer; false for a duplicate or an unknown slot.
    mutating func record(slot: Int, _ delivery: Delivery) -> Bool {
        guard deliveries.indices.contains(slot), deliveries[slot] == nil else { return false }
        deliveries[slot] = delivery
        answered += 1
        return true
    }

    mutating func expire() {
        for slot in deliveries.indices where deliveries[slot] == nil {
            deliveries[slot] = .outcomeUnknown
            answered += 1
        }
        expired = true
    }

    var complete: Bool { answered == deliveries.count }

    /// Every drive answered and none of them changed anything.
    var allDefiniteNoEffect: Bool { complete && deliveries.allSatisfy { $0?.isDefiniteNoEffect ?? false } }

    var replies: [AcceptorReply] {
        deliveries.compactMap { if case .reply(let reply)? = $0 { return reply } else { return nil } }
    }

    var acceptingVoters: Int {
        replies.filter { if case .accepted(voter: true, _) = $0 { return true } else { return false } }.count
    }

    /// Accepting drives (voters or learners) that hold the value's data.
    var acceptingDataHolders: Int {
        replies.filter { if case .accepted(_, holdsData: true) = $0 { return true } else { return false } }.count
    }

    var promises: [(accepted: AcceptedValue?, chosen: Bool)] {
        replies.compactMap { if case .promise(let a, let c) = $0 { return (a, c) } else { return nil } }
    }

    var states: [(accepted: AcceptedValue?, chosen: Bool)] {
        replies.compactMap { if case .state(let a, let c) = $0 { return (a, c) } else { return nil } }
    }

    /// The highest ballot a drive reported while refusing, to issue the next ballot above.
    var highestRefusal: Ballot? {
        replies.compactMap { if case .rejected(let top, _) = $0 { return top } else { return nil } }.max()
    }

    /// The highest accepted value among answers, and whether it is known chosen: a drive says
    /// so, or `quorum` answers hold the same write at that ballot.
    static func newest(
        of answers: [(accepted: AcceptedValue?, chosen: Bool)], quorum: Int
    ) -> (value: AcceptedValue?, knownChosen: Bool) {
        guard let newest = answers.compactMap(\.accepted).max(by: { $0.ballot < $1.ballot }) else { return (nil, false) }
        let holders = answers.filter { $0.accepted.map { $0.isSameWrite(as: newest) } ?? false }
        return (newest, holders.contains { $0.chosen } || holders.count >= quorum)
    }
}
