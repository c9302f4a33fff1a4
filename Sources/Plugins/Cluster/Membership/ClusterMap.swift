import Foundation

/// Who is in the cluster and where (CLUSTER.md §9): every member node (its index in ballots,
/// its QUIC address, its drives) and the pools formed from them, under an epoch that grows
/// with every change. Until pool 0 forms, the node that formed the cluster holds the only
/// authoritative copy; from then on ``ClusterMapRegister`` does, in the system set. Every node
/// keeps the newest copy it has seen.
///
/// ```swift
/// var map = ClusterMap.founding(clusterID: "c-7f3a", node: .init(id: "node-1", address: "10.0.0.1:4000", drives: paths),
///                               dataShards: 4, parityShards: 2, chunkSize: 4 << 20)
/// try map.admit(.init(id: "node-2", address: "10.0.0.2:4000", drives: paths2))
/// try map.formPool()             // the members not in a pool form the next one
/// map.formats(of: "node-2")      // what node-2 writes to its drives
/// ```
public struct ClusterMap: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var id: String
        /// Append-only: a node's index never changes and is never reused.
        public var index: Int
        /// Where its QUIC endpoint listens, `host:port`.
        public var address: String
        /// Its drive directories, as it listed them when it joined.
        public var drives: [String]
        /// The pool its drives belong to; nil while it is a spare.
        public var pool: Int?

        public init(id: String, address: String, drives: [String]) {
            self.id = id
            index = 0
            self.address = address
            self.drives = drives
            pool = nil
        }
    }

    public struct DriveSlot: Codable, Sendable, Equatable {
        public var node: String
        public var path: String
    }

    public struct Pool: Codable, Sendable, Equatable {
        /// 32 hex digits; keys the pool's placement hash.
        public var deploymentID: String
        /// `sets[s][i]`: the UUID of the drive in slot i of set s.
        public var sets: [[String]]
        /// Each drive's node and path, by UUID.
        public var drives: [String: DriveSlot]
    }

    public struct Refused: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public var clusterID: String
    public var epoch: Int
    public var dataShards: Int
    public var parityShards: Int
    public var chunkSize: Int
    public var members: [Member]
    public var pools: [Pool]

    /// A cluster of one node, with no pool yet.
    public static func founding(
        clusterID: String, node: Member, dataShards: Int, parityShards: Int, chunkSize: Int
    ) -> ClusterMap {
        var founder = node
        founder.index = 0
        founder.pool = nil
        return ClusterMap(
            clusterID: clusterID, epoch: 1, dataShards: dataShards, parityShards: parityShards, chunkSize: chunkSize,
            members: [founder], pools: [])
    }

    public func member(_ id: String) -> Member? { members.first { $0.id == id } }

    /// The members whose drives are in no pool yet.
    public var spares: [Member] { members.filter { $0.pool == nil } }

    /// Adds `node` as a spare with the next index. A node already in the map under the same
    /// ID is refused (a node that restarts keeps its identity and never joins again).
    public mutating func admit(_ node: Member) throws(Refused) {
        guard member(node.id) == nil else { throw Refused(description: "a node named \(node.id) is already a member") }
        guard !members.contains(where: { $0.address == node.address }) else {
            throw Refused(description: "a member already listens at \(node.address)")
        }
        guard !node.drives.isEmpty else { throw Refused(description: "node \(node.id) lists no drives") }
        var admitted = node
        admitted.index = (members.map(\.index).max() ?? -1) + 1
        admitted.pool = nil
        members.append(admitted)
        epoch += 1
    }

    /// Forms the next pool from every spare: erasure sets interleaved across them
    /// (``ErasureSetFormation``), a UUID for each drive, a deployment ID of its own. Pools
    /// already formed never change; new buckets go to the pool with the most free space.
    @discardableResult
    public mutating func formPool() throws(Refused) -> Pool {
        let spares = self.spares
        guard !spares.isEmpty else { throw Refused(description: "no spare nodes to form a pool from (join nodes first)") }
        let layout: ErasureSetFormation.Layout
        do {
            layout = try ErasureSetFormation.form(
                nodes: spares.map { .init(id: $0.id, drives: $0.drives) }, dataShards: dataShards, parityShards: parityShards)
        } catch {
            throw Refused(description: "\(error)")
        }
        var uuids: [ErasureSetFormation.Slot: String] = [:]
        for slot in layout.sets.joined() { uuids[slot] = UUID().uuidString.lowercased() }
        var drives: [String: DriveSlot] = [:]
        for (slot, uuid) in uuids { drives[uuid] = DriveSlot(node: slot.node, path: slot.drive) }
        let pool = Pool(
            deploymentID: (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(),
            sets: layout.sets.map { $0.map { uuids[$0]! } }, drives: drives)
        let index = pools.count
        pools.append(pool)
        for i in members.indices where members[i].pool == nil { members[i].pool = index }
        epoch += 1
        return pool
    }

    /// What `node` writes to each of its drives once its pool is formed: empty while it is a
    /// spare.
    public func formats(of node: String) -> [(path: String, format: DriveFormat)] {
        guard let poolIndex = member(node)?.pool, pools.indices.contains(poolIndex) else { return [] }
        let pool = pools[poolIndex]
        let owners = pool.drives.mapValues(\.node)
        return pool.drives.filter { $0.value.node == node }.sorted { $0.value.path < $1.value.path }.map { uuid, slot in
            let set = pool.sets.firstIndex { $0.contains(uuid) }!
            return (slot.path, DriveFormat(
                formatVersion: DriveFormat.version(forPool: poolIndex), clusterID: clusterID, deploymentID: pool.deploymentID, pool: poolIndex,
                set: set, slot: pool.sets[set].firstIndex(of: uuid)!, driveUUID: uuid, sets: pool.sets, dataShards: dataShards,
                parityShards: parityShards, chunkSize: chunkSize, distribution: DriveFormat.distributionAlgorithm, nodes: owners))
        }
    }

    /// Whether this copy is newer than `other` for the same cluster.
    public func supersedes(_ other: ClusterMap) -> Bool { clusterID == other.clusterID && epoch > other.epoch }
}
