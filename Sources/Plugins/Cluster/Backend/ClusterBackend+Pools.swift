import Logging
import StowageCore
import Synchronization

/// Pools (CLUSTER.md §1, §9): an expansion adds a pool and never moves data. A bucket is
/// bound to one pool when it is created (the one with the most free space then), its record
/// in the system set names it, and all of the bucket's registers and data live in that pool's
/// sets; so a key still has exactly one register, and a listing reads one pool. Every node
/// reaches every pool's drives; a pool formed while the node runs is added to its sets.
extension ClusterBackend.State {
    /// This state with `layouts` appended as the next pools: drives of this node in them are
    /// its own, the others' are reached through `transport`.
    func adding(
        pools layouts: [PoolLayout], transport: (any ClusterTransport)?, nodeID: String, prefetch: InlinePrefetch, counters: ClusterCounters
    ) -> Self {
        let local = Dictionary(drives.map { ($0.driveUUID, $0) }, uniquingKeysWith: { first, _ in first })
        var remote = Dictionary(self.remote.map { ($0.driveUUID, $0) }, uniquingKeysWith: { first, _ in first })
        var sets = self.sets, pools = self.pools
        for layout in layouts {
            if let transport {
                for (uuid, node) in layout.owners where node != nodeID && remote[uuid] == nil {
                    remote[uuid] = RemoteDrive(transport: transport, node: NodeID(node), driveUUID: uuid)
                }
            }
            let poolIndex = pools.count, first = sets.count
            for uuids in layout.sets {
                let members: [(any SetDrive)?] = uuids.map { local[$0] ?? remote[$0] }
                sets.append(ClusterBackend.ErasureSet(
                    index: sets.count, drives: members,
                    coordinator: RegisterCoordinator(
                        replicas: members.map { $0?.replica(prefetch: prefetch) ?? ClusterDriveReplica(drive: nil) }, clock: clock,
                        onQuorumFailure: { [counters] in counters.quorumFailures.add(1, ordering: .relaxed) }),
                    pool: poolIndex, uuids: uuids))
            }
            pools.append(ClusterBackend.PoolSets(
                layout: layout,
                placement: Placement(deploymentID: layout.deploymentKey, sets: layout.sets.count, setSize: format.dataShards + format.parityShards),
                range: first..<sets.count))
        }
        return Self(
            format: format, drives: drives, remote: remote.values.sorted { $0.name < $1.name }, excluded: excluded, sets: sets,
            pools: pools, quorum: quorum, clock: clock)
    }
}

extension ClusterBackend {
    /// The cluster map gained pools: their sets join this node's (the pools it has keep
    /// theirs; a map never changes a pool once formed). Their remote drives are probed at once.
    func adopt(pools layouts: [PoolLayout]) async {
        var refused: String?
        let added = swapState { state in
            guard layouts.count > state.pools.count else { return nil }
            guard zip(state.pools, layouts).allSatisfy({ $0.layout == $1 }) else {
                refused = "the map's pools differ from those this node serves"
                return nil
            }
            let new = Array(layouts[state.pools.count...])
            if let problem = Self.problem(in: new, setSize: state.format.dataShards + state.format.parityShards) {
                refused = problem
                return nil
            }
            return state.adding(pools: new, transport: transport, nodeID: options.nodeID, prefetch: prefetch, counters: counters)
        }
        if let refused {
            logger.error("a pool of the cluster map is not served", metadata: ["reason": "\(refused)", "pools": "\(layouts.count)"])
        }
        guard let added else { return }
        logger.notice("pools added", metadata: ["pools": "\(added.pools.count)", "sets": "\(added.sets.count)"])
        // The new drives' first probe, off this path (a request may be waiting on it).
        Task { await self.probeDrives() }
    }

    /// Why `layouts` cannot be served with sets of `setSize` drives, if they cannot.
    static func problem(in layouts: [PoolLayout], setSize: Int) -> String? {
        for layout in layouts {
            if layout.sets.isEmpty { return "pool \(layout.deploymentID) has no erasure sets" }
            if let set = layout.sets.first(where: { $0.count != setSize }) {
                return "pool \(layout.deploymentID) has a set of \(set.count) drives; this node's sets have \(setSize)"
            }
        }
        return nil
    }

    /// The pool of a bucket's record, waiting for the map once when this node has not heard
    /// of it yet (the pool formed moments ago); 503 if it still has not.
    func pool(of record: BucketRecord, state: State) async throws -> (PoolSets, State) {
        if let pool = try? state.pool(record.pool) { return (pool, state) }
        // `state` may be older than this node's (another request caught up meanwhile).
        if let current = try? openState(), let pool = try? current.pool(record.pool) { return (pool, current) }
        await lifecycle?.catchUp(toPools: (record.pool ?? 0) + 1)
        let current = try openState()
        return (try current.pool(record.pool), current)
    }

    /// Where a new bucket goes: the pool whose drives have the most free space, as this node
    /// last measured its own and heard from the others' probes (drives on one filesystem of
    /// one node count once; a drive unheard from counts as full). One pool: always pool 0.
    func poolForNewBucket(_ state: State) -> Int {
        guard state.pools.count > 1 else { return 0 }
        if let pinned = pinnedPool.withLock({ $0 }), state.pools.indices.contains(pinned) { return pinned }
        return Self.mostFree(freeBytes(ofPools: state))
    }

    /// Each pool's free bytes, each filesystem of each node counted once.
    func freeBytes(ofPools state: State) -> [Int64] {
        state.pools.map { pool in
            var filesystems: [String: Int64] = [:]
            for set in state.sets[pool.range] {
                for case let drive? in set.drives where drive.online {
                    guard let space = drive.space else { continue }
                    let node = (drive as? RemoteDrive).map { "\($0.node)" } ?? options.nodeID
                    filesystems["\(node)/\(space.filesystem)"] = space.free
                }
            }
            return filesystems.values.reduce(0, +)
        }
    }

    /// The index of the largest figure (the first of equals).
    static func mostFree(_ free: [Int64]) -> Int {
        var best = 0
        for (index, bytes) in free.enumerated() where bytes > free[best] { best = index }
        return best
    }
}
