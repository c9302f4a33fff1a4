import Foundation
import Synchronization
import Logging
import StowageCore
import StowageErasure

/// Brings a node's drives up (CLUSTER.md §1–2): forms them on the very first start, else
/// accepts the format a majority agrees on, opens each drive's catalog, and builds the
/// erasure sets with their register coordinators and the node's ballot clock.
struct ClusterStartup {
    let options: ClusterBackend.Options
    let logger: Logger
    let prefetch: InlinePrefetch
    let transport: (any ClusterTransport)?
    let counters: ClusterCounters
    let lifecycle: (any ClusterNodeLifecycle)?

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    func run() async throws -> ClusterBackend.State {
        guard !options.drives.isEmpty else { throw Refused(description: "the cluster backend needs drives (cluster.drives.paths or --drives)") }
        var found = options.drives.map { ($0, DriveFormatFile.read(drive: $0)) }
        var formedNow = false
        if case .form = FormatAgreement.resolve(found) {
            guard options.nodeID == "local" else {
                throw Refused(description: "node \(options.nodeID)'s drives are not formatted; a multi-node deployment is formed once, for every node (DriveFormat.form(nodes:))")
            }
            let formats: [DriveFormat]
            do {
                formats = try DriveFormat.form(
                    drivePaths: options.drives, dataShards: options.dataShards, parityShards: options.parityShards,
                    chunkSize: options.chunkSize)
            } catch {
                throw Refused(description: "\(error)")
            }
            for (path, format) in zip(options.drives, formats) {
                try DriveFormatFile.write(format, drive: path, durable: true)
            }
            logger.notice("formed new drives", metadata: [
                "drives": "\(options.drives.count)", "sets": "\(formats[0].sets.count)",
                "code": "\(options.dataShards)+\(options.parityShards)",
            ])
            formedNow = true
            found = options.drives.map { ($0, DriveFormatFile.read(drive: $0)) }
        }
        guard case .agreed(let agreement) = FormatAgreement.resolve(found) else {
            if case .refused(let reason) = FormatAgreement.resolve(found) { throw Refused(description: reason) }
            throw Refused(description: "the drives could not be formed")
        }
        let format = agreement.reference
        guard format.dataShards == options.dataShards, format.parityShards == options.parityShards else {
            throw Refused(description: "the drives are formatted \(format.dataShards)+\(format.parityShards); the configuration asks for \(options.dataShards)+\(options.parityShards)")
        }
        for excluded in agreement.excluded {
            logger.error("drive left out of rotation", metadata: ["drive": "\(excluded.path)", "reason": "\(excluded.reason)"])
        }
        let owners = format.nodes ?? [:]
        for (uuid, path) in agreement.drives where (owners[uuid] ?? "local") != options.nodeID {
            throw Refused(description: "drive \(path) belongs to node \(owners[uuid] ?? "local"); this node is \(options.nodeID)")
        }
        let pools = try poolLayouts(own: format)
        let nodeIDs = Set(owners.values).union([options.nodeID]).sorted()
        let clusterNodes = pools.reduce(Set(nodeIDs)) { $0.union($1.owners.values) }.count
        if clusterNodes > 1 && transport == nil {
            throw Refused(description: "the deployment has \(clusterNodes) nodes; a node of a cluster needs a cluster transport")
        }
        // F3: with several nodes, a power loss on one takes back what it acknowledged unsynced
        // while the others keep theirs, and quorums no longer intersect in what they hold.
        if clusterNodes > 1 && !options.fsync {
            throw Refused(description: "a cluster of \(clusterNodes) nodes needs storage.fsync: true (CLUSTER.md §2: an unsynced acknowledgement on one node can be taken back by its power loss)")
        }
        var byUUID: [String: ClusterDrive] = [:]
        for (uuid, path) in agreement.drives {
            byUUID[uuid] = openDrive(path: path, uuid: uuid, formedNow: formedNow)
        }
        let drives = options.drives.compactMap { path in byUUID.values.first { $0.path == path } }
        // The node's index in its ballots: the cluster map's append-only index; for drives
        // formed without a map, from the sorted node IDs of their pool.
        if lifecycle?.pools() != nil && lifecycle?.ballotIndex == nil {
            throw Refused(description: "the cluster map does not list node \(options.nodeID), so it has no index for its ballots")
        }
        let nodeIndex = lifecycle?.ballotIndex ?? nodeIDs.firstIndex(of: options.nodeID) ?? 0
        guard let ballotIndex = UInt16(exactly: nodeIndex) else { throw Refused(description: "node index \(nodeIndex) does not fit a ballot") }
        let clock = try await makeClock(drives, nodeIndex: ballotIndex)
        let empty = ClusterBackend.State(
            format: format, drives: drives, remote: [], excluded: agreement.excluded, sets: [], pools: [],
            quorum: QuorumArithmetic(dataShards: format.dataShards, parityShards: format.parityShards, dataWriteQuorum: options.dataWriteQuorum),
            clock: clock)
        return empty.adding(pools: pools, transport: transport, nodeID: options.nodeID, prefetch: prefetch, counters: counters)
    }

    /// The deployment's pools: the cluster map's, which must place this node's drives where
    /// their formats say; else the drives' own pool, the only one.
    private func poolLayouts(own format: DriveFormat) throws -> [PoolLayout] {
        guard let pools = lifecycle?.pools() else {
            guard format.pool == 0 else {
                throw Refused(description: "the drives belong to pool \(format.pool); a node of a pool after the first needs its cluster's map")
            }
            return [PoolLayout(format)]
        }
        guard pools.indices.contains(format.pool), pools[format.pool] == PoolLayout(format) else {
            throw Refused(description: "the drives' format (pool \(format.pool), deployment \(format.deploymentID)) is not what the cluster map holds for that pool")
        }
        if let problem = ClusterBackend.problem(in: pools, setSize: format.dataShards + format.parityShards) {
            throw Refused(description: problem)
        }
        return pools
    }

    private func openDrive(path: String, uuid: String, formedNow: Bool) -> ClusterDrive {
        let layout = DriveLayout(drive: path)
        // A catalog missing under an existing format lost its state: the drive may not vote (F2).
        let catalogExisted = FileManager.default.fileExists(atPath: layout.catalogPath)
        let isVoter = formedNow || catalogExisted
        if !isVoter {
            logger.error("drive lost its catalog; it serves as a learner until healed", metadata: ["drive": "\(path)"])
        }
        do {
            try makeDataDirectories(layout)
            let catalog = try DriveCatalog.open(path: layout.catalogPath, durable: options.fsync, logger: logger)
            return ClusterDrive(path: path, driveUUID: uuid, durable: options.fsync, isVoter: isVoter, catalog: catalog, reason: nil, logger: logger)
        } catch {
            logger.error("drive catalog cannot be opened", metadata: ["drive": "\(path)", "error": "\(error)"])
            return ClusterDrive(path: path, driveUUID: uuid, durable: options.fsync, isVoter: isVoter, catalog: nil,
                                reason: "its catalog cannot be opened: \(error)", logger: logger)
        }
    }

    /// `data/` and its 256 `xx` directories, made once and synced (with fsync on), so a shard
    /// file's directory entry is the only one a write has to sync.
    private func makeDataDirectories(_ layout: DriveLayout) throws {
        guard !FileManager.default.fileExists(atPath: layout.dataDirectory) else { return }
        let building = layout.stowageDirectory + "/data.new"
        try? FileManager.default.removeItem(atPath: building)
        try FileManager.default.createDirectory(atPath: building, withIntermediateDirectories: true)
        for byte in 0...255 {
            try FileManager.default.createDirectory(atPath: building + "/" + Hex.byte(UInt8(byte)), withIntermediateDirectories: false)
        }
        if options.fsync { try DurableFiles.syncDirectory(building) }
        try DurableFiles.rename(building, to: layout.dataDirectory, durable: options.fsync)
    }

    /// The node's clock starts above the highest reservation any drive holds; a reservation
    /// counts once a majority of the node's drives hold it (so any majority at the next start
    /// sees it).
    private func makeClock(_ drives: [ClusterDrive], nodeIndex: UInt16) async throws -> NodeClock {
        let catalogs = drives.compactMap(\.catalog)
        let reserved = catalogs.compactMap { try? $0.clockReservation() }.max() ?? 0
        let total = options.drives.count
        return NodeClock(nodeIndex: nodeIndex, reservedUpToMs: reserved) { upTo in
            let held = await withTaskGroup(of: Bool.self) { group in
                for drive in drives {
                    guard let catalog = drive.catalog else { continue }
                    group.addTask { (try? await catalog.reserveClock(upToMs: upTo)) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            guard held * 2 > total else { throw Refused(description: "the clock reservation reached \(held) of \(total) drives") }
        }
    }
}
