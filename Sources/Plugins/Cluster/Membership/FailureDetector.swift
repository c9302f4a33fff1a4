public import StowageCore

/// How one node sees the others' liveness (CLUSTER.md §9): heartbeats every
/// `heartbeatIntervalMs`; a node not heard for two intervals is `suspect`; one not heard for
/// `heartbeatTimeoutMs` is `offline`, but only while this node sees a majority of the cluster
/// (itself included). A node that does not see a majority reports itself `isolated` and marks
/// nobody offline: in a partition, the minority side must not declare the majority dead.
///
/// Liveness is advisory (F18): it chooses drives to ask first, fails requests fast, triggers
/// healing and feeds status. Safety never depends on it. Pure: time is passed in.
///
/// ```swift
/// var detector = FailureDetector(local: me, peers: others, settings: .init(heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 10_000), nowMs: 0)
/// detector.heard(from: peer, atMs: 1_000)
/// for change in detector.evaluate(atMs: 3_500) { log(change) }
/// ```
public struct FailureDetector: Sendable {
    public enum Liveness: String, Sendable, Hashable { case online, suspect, offline }

    public enum Standing: String, Sendable, Hashable {
        /// This node sees a majority of the cluster.
        case connected
        /// This node sees no majority: it marks nobody offline.
        case isolated
    }

    public struct Settings: Sendable, Hashable {
        public var heartbeatIntervalMs: UInt64
        public var heartbeatTimeoutMs: UInt64

        public init(heartbeatIntervalMs: UInt64, heartbeatTimeoutMs: UInt64) {
            self.heartbeatIntervalMs = heartbeatIntervalMs
            self.heartbeatTimeoutMs = max(heartbeatTimeoutMs, 2 * heartbeatIntervalMs)
        }
    }

    /// A node's liveness or this node's standing changed.
    public enum Change: Sendable, Hashable {
        case node(NodeID, Liveness)
        case standing(Standing)
    }

    public let local: NodeID
    public let settings: Settings
    private var lastHeard: [NodeID: UInt64]
    private var liveness: [NodeID: Liveness]
    public private(set) var standing: Standing = .connected
    /// Peers that answered at least once since this detector started (not just presumed
    /// online at the start).
    private var answered: Set<NodeID> = []

    /// Every peer starts online, as if heard at `nowMs` (a node just started gives the others
    /// their timeout before judging them).
    public init(local: NodeID, peers: [NodeID], settings: Settings, nowMs: UInt64) {
        self.local = local
        self.settings = settings
        let others = peers.filter { $0 != local }
        lastHeard = Dictionary(uniqueKeysWithValues: others.map { ($0, nowMs) })
        liveness = Dictionary(uniqueKeysWithValues: others.map { ($0, .online) })
    }

    public var peers: [NodeID] { lastHeard.keys.sorted() }

    public func liveness(of node: NodeID) -> Liveness? { node == local ? .online : liveness[node] }

    /// A heartbeat (or any answer) from `node` arrived.
    public mutating func heard(from node: NodeID, atMs now: UInt64) {
        guard let previous = lastHeard[node] else { return }
        lastHeard[node] = max(previous, now)
        answered.insert(node)
    }

    /// Whether `node` answered anything since this detector started.
    public func hasHeard(from node: NodeID) -> Bool { answered.contains(node) }

    /// A node joined the cluster map (heard as of now) or left it.
    public mutating func add(_ node: NodeID, atMs now: UInt64) {
        guard node != local, lastHeard[node] == nil else { return }
        lastHeard[node] = now
        liveness[node] = .online
    }

    public mutating func remove(_ node: NodeID) {
        lastHeard[node] = nil
        liveness[node] = nil
        answered.remove(node)
    }

    /// Re-judges every node at `now`; returns what changed (standing first).
    public mutating func evaluate(atMs now: UInt64) -> [Change] {
        let silence = lastHeard.mapValues { now > $0 ? now - $0 : 0 }
        let seen = 1 + silence.values.filter { $0 < settings.heartbeatTimeoutMs }.count
        let total = 1 + lastHeard.count
        let newStanding: Standing = seen * 2 > total ? .connected : .isolated
        var changes: [Change] = []
        if newStanding != standing {
            standing = newStanding
            changes.append(.standing(newStanding))
        }
        for node in silence.keys.sorted() {
            let quiet = silence[node]!
            var judged: Liveness = .online
            if quiet >= settings.heartbeatTimeoutMs && standing == .connected {
                judged = .offline
            } else if quiet >= 2 * settings.heartbeatIntervalMs {
                judged = .suspect
            }
            if liveness[node] != judged {
                liveness[node] = judged
                changes.append(.node(node, judged))
            }
        }
        return changes
    }
}
