/// One drive of a set as the coordinator reaches it: local (its catalog in this process) or
/// remote (through the cluster transport). Replicas must process each request at most once:
/// the coordinator reads "every drive refused" as "nothing was applied" (F1), which a
/// duplicated delivery would falsify (the simulator found this; see RegisterMutationTests).
public protocol RegisterReplica: Sendable {
    func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery
    /// False while the drive is out of rotation (failed probes, node offline). Advisory
    /// (F18): it only lets an operation that cannot reach a quorum fail before it sends
    /// anything, so a 503 then changes nothing.
    var isOnline: Bool { get }
    /// This replica answers `request` without waiting on anything slow (a local catalog's
    /// point read): the coordinator calls it in place instead of in a task of its own.
    func answersInPlace(_ request: AcceptorRequest) -> Bool
    /// The drive's rows in a key range (`listRange`); nil when it did not answer.
    func listRange(_ request: ListRangeRequest) async -> ListRangeReply?
    /// `listRange` reads a catalog of this process (microseconds): a listing calls it in
    /// place rather than in a task of its own.
    var listsInPlace: Bool { get }
}

extension RegisterReplica {
    public var isOnline: Bool { true }
    public func answersInPlace(_ request: AcceptorRequest) -> Bool { false }
    public var listsInPlace: Bool { false }
}

/// A drive of this node: its catalog, reached without a network.
///
/// ```swift
/// let replica = LocalDriveReplica(catalog: catalog, isVoter: true)
/// let delivery = await replica.handle(.read, key: key)
/// ```
public struct LocalDriveReplica: RegisterReplica {
    public let catalog: DriveCatalog
    public let isVoter: Bool
    let wallMs: @Sendable () -> UInt64

    public init(catalog: DriveCatalog, isVoter: Bool, wallMs: @escaping @Sendable () -> UInt64 = WallClock.nowMs) {
        self.catalog = catalog
        self.isVoter = isVoter
        self.wallMs = wallMs
    }

    /// Only learns: they queue in memory. A read could block on a hung drive, and must not
    /// hold up the coordinator or its deadline.
    public func answersInPlace(_ request: AcceptorRequest) -> Bool {
        if case .learn = request { return true } else { return false }
    }

    public func listRange(_ request: ListRangeRequest) async -> ListRangeReply? {
        try? catalog.listRange(request, isVoter: isVoter)
    }

    public var listsInPlace: Bool { true }

    public func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
        if case .learn(let ballot, let writeID) = request {
            catalog.learnLater(key, ballot: ballot, writeID: writeID)
            return .reply(.learned)
        }
        do {
            return .reply(try await catalog.apply(request, to: key, wallMs: wallMs(), isVoter: isVoter))
        } catch {
            // An I/O error at commit (a failed fsync) leaves it unknown whether the change
            // is durable.
            return .outcomeUnknown
        }
    }
}
