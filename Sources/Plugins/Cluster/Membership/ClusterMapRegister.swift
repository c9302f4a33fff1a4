import Foundation

/// The cluster map as a register (CLUSTER.md §9): `sys/cluster` in the system set (pool 0's
/// first erasure set), read and changed with the register protocol like a bucket record. A
/// change is chosen by a quorum of that set's drives or not at all (no quorum: nothing
/// changes), and is a compare-and-set from the epoch it was computed on, so two nodes
/// changing the map at once (a join on the node that holds the CA, an expand on another)
/// never fork it: the later one recomputes its change on the map the first one chose.
///
/// Until pool 0 forms there is no system set: the node that formed the cluster keeps the map
/// in its state directory alone, and writes it here (its `seed`) once its drives open.
///
/// ```swift
/// let map = try await register.change(seed: nil) { base in
///     var next = base
///     try next.formPool()
///     return next
/// }
/// ```
public struct ClusterMapRegister: Sendable {
    static let key = RegisterKey(scope: ClusterBackend.systemScope, key: "sys/cluster")

    let coordinator: RegisterCoordinator

    init(coordinator: RegisterCoordinator) {
        self.coordinator = coordinator
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// Too few of the system set's drives answered (or the write's outcome stayed unknown):
        /// nothing changed that anyone will see, and the change may be asked for again.
        case unavailable(String)
        /// The change does not apply to the map as it is.
        case refused(String)
        /// The write may have been chosen or not, and no read could tell: a later read settles it.
        case outcomeUnknown(String)

        public var description: String {
            switch self {
            case .unavailable(let reason): "the cluster map register is unavailable: \(reason)"
            case .refused(let reason): reason
            case .outcomeUnknown(let reason): "the change may or may not have been made (\(reason)); a later read of the map tells"
            }
        }
    }

    /// The map the register holds: nil before the node that formed the cluster first wrote it.
    public func read() async throws(Failure) -> ClusterMap? {
        try Self.decode(try await readHeld())
    }

    private func readHeld() async throws(Failure) -> AcceptedValue? {
        try Self.settled(await coordinator.read(key: Self.key))
    }

    /// Applies `change` to the newest map and writes the result, if it is a change (`change`
    /// returns nil when the map already says what it would). Returns the map as it stands
    /// afterwards. The register holding no map yet takes `seed`, the authoritative copy of
    /// the node that formed the cluster, first; any other node passes nil and is refused
    /// until that node has started. `change` may run more than once, each time on a newer map.
    public func change(
        seed: ClusterMap?, attempts: Int = 6, _ change: @Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap?
    ) async throws(Failure) -> ClusterMap {
        var held = try await readHeld()
        // Writes of this call whose outcome was unknown: one may turn up chosen in a later round.
        var mine: [WriteID: ClusterMap] = [:]
        for _ in 0..<attempts {
            if let held, let written = mine[held.value.writeID] { return written }
            let current = try Self.decode(held)
            // A write of an earlier round, chosen after all, with another change on top: done.
            if let current, mine.values.contains(where: { current.extends($0) }) { return current }
            let next: ClusterMap
            if let current {
                if let seed, seed.clusterID != current.clusterID {
                    throw .refused("the register holds cluster \(current.clusterID)'s map, this node belongs to \(seed.clusterID)")
                }
                do {
                    guard let changed = try change(current) else { return current }
                    next = changed
                } catch {
                    throw .refused(error.description)
                }
                guard next.epoch > current.epoch, next.extends(current) else {
                    throw .refused("a change must extend the map under a newer epoch (epoch \(current.epoch) to \(next.epoch))")
                }
            } else {
                guard let seed else {
                    throw .unavailable("it holds no map yet; the node that formed the cluster writes it once its drives open")
                }
                do { next = try change(seed) ?? seed } catch { throw .refused(error.description) }
            }
            let expected = held?.value.writeID
            let value = RegisterValue(writeID: .random(), payload: Array((try? JSONEncoder().encode(next)) ?? Data()))
            let outcome = await coordinator.compareAndSet(key: Self.key) { now in
                // The write applies only to the map it was computed on (none: only the seed).
                now?.value.writeID == expected ? .write(value) : .refuse
            }
            switch outcome {
            case .written:
                return next
            case .preconditionFailed(let now):
                held = now
            case .unavailable(let reason):
                // A write of an earlier round may still be chosen by a later reader.
                throw mine.isEmpty ? .unavailable(reason) : .outcomeUnknown(reason)
            case .outcomeUnknown(let reason):
                // A read settles whether it was chosen; if not, the loop tries again on what is.
                mine[value.writeID] = next
                do {
                    held = try await readHeld()
                } catch {
                    throw .outcomeUnknown(reason)
                }
            case .found:
                throw .unavailable("the register answered a write with a read")
            }
        }
        if let held, let written = mine[held.value.writeID] { return written }
        throw mine.isEmpty
            ? .unavailable("the map kept changing under this change (\(attempts) attempts); ask again")
            : .outcomeUnknown("the map kept changing under this change (\(attempts) attempts)")
    }

    static func settled(_ outcome: RegisterOperation.Outcome) throws(Failure) -> AcceptedValue? {
        switch outcome {
        case .found(let value), .preconditionFailed(let value): return value
        case .written(let value): return value
        case .unavailable(let reason), .outcomeUnknown(let reason): throw .unavailable(reason)
        }
    }

    static func decode(_ held: AcceptedValue?) throws(Failure) -> ClusterMap? {
        guard let held, !held.value.tombstone else { return nil }
        do {
            return try JSONDecoder().decode(ClusterMap.self, from: Data(held.value.payload))
        } catch {
            throw .refused("the cluster map register holds a value that does not decode: \(error)")
        }
    }
}

extension ClusterMap {
    /// Whether this map is `other` grown, never rewritten: the same cluster and erasure code,
    /// every member of `other` unchanged but for the pool it was given, and `other`'s pools
    /// unchanged and first. Nodes and pools are append-only (their indices key ballots and
    /// placement), so a map that does not extend the one before is a fork.
    public func extends(_ other: ClusterMap) -> Bool {
        guard clusterID == other.clusterID, dataShards == other.dataShards, parityShards == other.parityShards,
              chunkSize == other.chunkSize, epoch >= other.epoch, pools.count >= other.pools.count,
              Array(pools.prefix(other.pools.count)) == other.pools, members.count >= other.members.count
        else { return false }
        return zip(members, other.members).allSatisfy { mine, theirs in
            var was = mine
            if theirs.pool == nil { was.pool = nil }
            return was == theirs
        }
    }
}
