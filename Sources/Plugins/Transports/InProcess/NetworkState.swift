import StowageCore

/// One direction between two nodes. Faults are decided, and blocks applied, per direction: a
/// real link can fail one way only.
struct Link: Hashable, Sendable {
    var from: NodeID
    var to: NodeID
}

/// Everything an ``InProcessNetwork`` knows, kept behind its mutex. Each method is one step of
/// a send, taken under the lock, so a send sees a consistent topology at each step while
/// partitions may still change between steps (as they do under a real request).
struct NetworkState {
    var handlers: [NodeID: any ClusterRequestHandler] = [:]
    /// The partition group of each named node; `nil` when the network is whole. Nodes named in
    /// no group share the implicit group `nil`.
    var groups: [NodeID: Int]?
    var blocked: Set<Link> = []
    /// Sends issued per link so far: the `n` of each fault decision. Never reset, so a
    /// restarted node or a healed partition does not replay old decisions.
    var sequences: [Link: UInt64] = [:]
    var faults: FaultPlan
    var statistics = InProcessNetwork.Statistics()

    init(faults: FaultPlan) {
        self.faults = faults
    }

    /// Whether packets from `from` currently reach `to`, topology only (attachment aside).
    func canReach(_ from: NodeID, _ to: NodeID) -> Bool {
        if blocked.contains(Link(from: from, to: to)) { return false }
        guard let groups, from != to else { return true }
        return groups[from] == groups[to]
    }

    /// Why a request from `from` cannot reach `to` now, or `nil` when it can. A detached sender
    /// is refused too: a crashed node sends nothing, even from tasks it left running.
    func refusal(from: NodeID, to: NodeID) -> String? {
        if handlers[from] == nil { return "sender \(from) is not attached" }
        if handlers[to] == nil { return "\(to) is not attached" }
        if !canReach(from, to) { return "\(from) cannot reach \(to)" }
        return nil
    }

    /// The send step: takes the link's next sequence number, decides its faults and refuses or
    /// drops the request. The sequence number is taken even for refused sends, so decisions
    /// depend only on how many sends the link has seen, not on the topology of the moment. The
    /// decision returned says what will happen: `duplicate` is cleared for a body too large
    /// (or of unknown length) to replay.
    mutating func admit(from: NodeID, to: NodeID, bodyLength: Int64?) -> Result<FaultDecision, ClusterTransportError> {
        let link = Link(from: from, to: to)
        let sequence = sequences[link, default: 0]
        sequences[link] = sequence &+ 1
        var decision = faults.decide(from: from, to: to, sequence: sequence)
        if decision.duplicate {
            let limit = Int64(faults.maxDuplicatedBody)
            decision.duplicate = bodyLength.map { $0 <= limit } ?? false
        }
        if let reason = refusal(from: from, to: to) {
            statistics.refused += 1
            return .failure(.notDelivered(to, reason: reason))
        }
        if decision.dropRequest {
            statistics.droppedRequests += 1
            return .failure(.notDelivered(to, reason: "request dropped by the fault plan"))
        }
        if decision.delay != nil { statistics.delayed += 1 }
        return .success(decision)
    }

    /// The arrival step, after any delay: the topology may have changed while the request was
    /// in transit, and a node restarted meanwhile receives it with its new handler.
    mutating func arrive(from: NodeID, to: NodeID, duplicated: Bool) -> Result<any ClusterRequestHandler, ClusterTransportError> {
        if let reason = refusal(from: from, to: to) {
            statistics.refused += 1
            return .failure(.notDelivered(to, reason: reason))
        }
        guard let handler = handlers[to] else {
            // `refusal` has checked attachment; kept as a refusal rather than a trap.
            statistics.refused += 1
            return .failure(.notDelivered(to, reason: "\(to) is not attached"))
        }
        statistics.delivered += 1
        if duplicated { statistics.duplicated += 1 }
        return .success(handler)
    }

    /// The reply step, once the handler returned: why the reply from `from` back to `to` is
    /// lost, or `nil` when it gets through. A detached replier still answers (its in-flight
    /// requests complete); only the plan and the topology lose replies.
    mutating func reply(from: NodeID, to: NodeID, dropped: Bool) -> String? {
        if dropped {
            statistics.droppedReplies += 1
            return "reply dropped by the fault plan"
        }
        if !canReach(from, to) {
            statistics.lostReplies += 1
            return "reply lost: \(from) can no longer reach \(to)"
        }
        return nil
    }
}
