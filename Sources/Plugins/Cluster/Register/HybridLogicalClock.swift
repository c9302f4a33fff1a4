/// Issues this process's ballots (CLUSTER.md §3 "Ballots", F13): a hybrid logical clock that
/// never goes backwards, not across a wall-clock jump and not across a restart.
///
/// Before it issues a ballot beyond what has been reserved, the clock asks for a reservation:
/// the node persists "issued up to `ms`" on its drives and reports it back with
/// ``reserved(upToMs:)``. At start the node passes the highest reservation its drives hold,
/// so a restarted process issues above everything its previous incarnation could have issued.
///
/// ```swift
/// var clock = HybridLogicalClock(nodeIndex: 1, incarnation: 7, reservedUpToMs: 0)
/// if case .reserve(let upTo) = clock.issue(wallMs: now) {
///     try persistReservation(upTo)          // durable on the node's drives
///     clock.reserved(upToMs: upTo)
/// }
/// guard case .ballot(let b) = clock.issue(wallMs: now) else { ... }
/// ```
public struct HybridLogicalClock: Sendable, Equatable {
    public enum Issue: Sendable, Equatable {
        case ballot(Ballot)
        /// Persist "issued up to" this many ms, then call ``reserved(upToMs:)`` and issue again.
        case reserve(upToMs: UInt64)
    }

    /// How far ahead of the ballot being issued a reservation reaches, so reservations are
    /// written about five times a second, not once per ballot. It must stay well below the
    /// drives' `maxClockOffset` (500 ms): a restarted process resumes at its reservation, and
    /// drives refuse ballots further ahead of their clocks than that. (CLUSTER.md says
    /// "hwm + 1 s", which would leave a restarted node refused for up to half a second.)
    public static let reservationStepMs: UInt64 = 200

    public let nodeIndex: UInt16
    public let incarnation: UInt32
    public private(set) var lastMs: UInt64
    public private(set) var lastLogical: UInt16
    public private(set) var reservedUpToMs: UInt64

    /// `reservedUpToMs`: the highest reservation found on the node's drives (0 for a new node).
    public init(nodeIndex: UInt16, incarnation: UInt32, reservedUpToMs: UInt64) {
        self.nodeIndex = nodeIndex
        self.incarnation = incarnation
        self.reservedUpToMs = reservedUpToMs
        // Everything up to the reservation may have been issued by the previous incarnation.
        self.lastMs = reservedUpToMs
        self.lastLogical = reservedUpToMs == 0 ? 0 : UInt16.max
    }

    /// The next ballot: above every ballot issued or observed before, and above `above`.
    public mutating func issue(wallMs: UInt64, above: Ballot? = nil) -> Issue {
        var ms = max(wallMs, lastMs)
        var logical: UInt16 = ms == lastMs ? lastLogical : 0
        if let above, (above.ms, above.logical) >= (ms, logical) {
            ms = above.ms
            logical = above.logical
        }
        // Step past (ms, logical).
        if logical == UInt16.max {
            ms += 1
            logical = 0
        } else if ms == lastMs || (above.map { ($0.ms, $0.logical) == (ms, logical) } ?? false) {
            logical += 1
        }
        guard ms <= reservedUpToMs else { return .reserve(upToMs: ms + Self.reservationStepMs) }
        lastMs = ms
        lastLogical = logical
        return .ballot(Ballot(ms: ms, logical: logical, nodeIndex: nodeIndex, incarnation: incarnation))
    }

    /// A reservation is durable.
    public mutating func reserved(upToMs: UInt64) {
        reservedUpToMs = max(reservedUpToMs, upToMs)
    }

    /// Moves the clock past a time seen on a message from another node.
    public mutating func observe(_ ballot: Ballot) {
        if (ballot.ms, ballot.logical) > (lastMs, lastLogical) {
            lastMs = ballot.ms
            lastLogical = ballot.logical
        }
    }
}
