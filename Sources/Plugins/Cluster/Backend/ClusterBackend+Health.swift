import Foundation
public import StowageCore
import Synchronization

/// The operations view (issue 13 §4): health per set, node and drive for
/// `/_stowage/health/ready`; `clusterStatus` for the management API and `stowage cluster
/// status`; counters for `/_stowage/metrics`. All of it reports state: nothing here probes.
extension ClusterBackend: ClusterStatusSource, BackendMetricsSource {
    /// A set that lost quorum is `unavailable` only when no set can serve (the node as a whole
    /// cannot); while others serve, it is `degraded` with a detail saying its objects cannot
    /// be read or written, so `/_stowage/health/ready` stays 200 for the rest.
    public func health() async -> BackendHealth {
        guard let state = try? openState() else {
            return BackendHealth(components: [.init(name: "cluster", status: .unavailable, detail: "not open")])
        }
        let serving = state.sets.filter { state.quorum.canWriteData(offline: $0.offline) }.count
        var components: [BackendHealth.Component] = []
        for set in state.sets {
            let offline = set.offline
            let status: BackendHealth.Status
            var detail = offline == 0 ? nil : "\(offline) of \(set.drives.count) drives offline"
            if offline == 0 {
                status = .ok
            } else if state.quorum.canWriteData(offline: offline) {
                status = .degraded
            } else {
                status = serving == 0 ? .unavailable : .degraded
                detail = (detail ?? "") + "; quorum lost: its objects cannot be read or written"
            }
            components.append(.init(name: "set \(set.index)", status: status, detail: detail))
        }
        for node in nodes(state) where node.state != "online" {
            components.append(.init(name: "node \(node.id)", status: .degraded, detail: "none of its drives answers"))
        }
        // Heartbeats (a multi-process cluster): this node cut off from the majority, or
        // another node not heard from.
        if let membership = lifecycle?.membership() {
            if membership.standing != "connected" {
                components.append(.init(name: "membership", status: .degraded, detail: "this node sees no majority of the cluster"))
            }
            for member in membership.members where member.liveness != "online" {
                components.append(.init(name: "member \(member.id)", status: .degraded, detail: "\(member.liveness): no heartbeat answered"))
            }
        }
        // A drive out of rotation degrades the node; whether data is still served is its
        // set's status above.
        for drive in state.drives {
            let detail = [drive.reason, drive.activity].compactMap { $0 }.joined(separator: "; ")
            components.append(.init(name: "drive \(drive.path)", status: drive.online ? .ok : .degraded, detail: detail))
        }
        for drive in state.remote {
            components.append(.init(name: "drive \(drive.name)", status: drive.online ? .ok : .degraded, detail: drive.reason))
        }
        for excluded in state.excluded {
            components.append(.init(name: "drive \(excluded.path)", status: .degraded, detail: excluded.reason))
        }
        return BackendHealth(components: components)
    }

    private func nodes(_ state: State) -> [ClusterStatus.Node] {
        var byNode: [String: (drives: Int, online: Int)] = [options.nodeID: (state.drives.count, state.drives.filter(\.online).count)]
        for drive in state.remote {
            let id = "\(drive.node)"
            byNode[id, default: (0, 0)].drives += 1
            if drive.online { byNode[id, default: (0, 0)].online += 1 }
        }
        return byNode.keys.sorted().map { id in
            let counts = byNode[id]!
            return ClusterStatus.Node(id: id, isLocal: id == options.nodeID, state: counts.online > 0 ? "online" : "offline", drives: counts.drives)
        }
    }

    public func clusterStatus() async -> ClusterStatus {
        guard let state = try? openState() else { return ClusterStatus(nodes: [], drives: [], sets: [], membership: lifecycle?.membership()) }
        var drives: [ClusterStatus.Drive] = []
        for set in state.sets {
            for (slot, member) in set.drives.enumerated() {
                if let drive = member as? ClusterDrive {
                    let space = Self.space(drive.path)
                    let activity = drive.activityFigures
                    drives.append(ClusterStatus.Drive(
                        path: drive.path, node: options.nodeID, uuid: drive.driveUUID, set: set.index, slot: slot,
                        state: drive.online ? "online" : "offline", reason: drive.reason, freeBytes: space?.free, totalBytes: space?.total,
                        operations: activity.operations, errors: activity.errors, meanLatencyMs: activity.meanLatencyMs))
                } else if let drive = member as? RemoteDrive {
                    drives.append(ClusterStatus.Drive(
                        path: drive.name, node: "\(drive.node)", uuid: drive.driveUUID, set: set.index, slot: slot,
                        state: drive.online ? "online" : "offline", reason: drive.reason))
                } else {
                    drives.append(ClusterStatus.Drive(
                        path: "", node: "", uuid: set.uuids.indices.contains(slot) ? set.uuids[slot] : "", set: set.index, slot: slot, state: "offline",
                        reason: "this node cannot reach the drive"))
                }
            }
        }
        for excluded in state.excluded {
            drives.append(ClusterStatus.Drive(path: excluded.path, node: options.nodeID, uuid: "", set: -1, slot: -1, state: "excluded", reason: excluded.reason))
        }
        let health = await health()
        let sets = state.sets.map { set in
            ClusterStatus.ErasureSet(
                index: set.index, status: health.components.first { $0.name == "set \(set.index)" }?.status.rawValue ?? "ok",
                drivesOnline: set.drives.count - set.offline, drives: set.drives.count,
                dataShards: state.format.dataShards, parityShards: state.format.parityShards, pool: set.pool)
        }
        return ClusterStatus(nodes: nodes(state), drives: drives, sets: sets, membership: lifecycle?.membership())
    }

    public func metrics() async -> [BackendMetric] {
        var metrics = [
            BackendMetric(name: "stowage_cluster_degraded_reads_total", kind: .counter, value: Int64(counters.degradedReads.load(ordering: .relaxed))),
            BackendMetric(name: "stowage_cluster_reconstructed_chunks_total", kind: .counter, value: Int64(counters.reconstructedChunks.load(ordering: .relaxed))),
            BackendMetric(name: "stowage_cluster_quorum_failures_total", kind: .counter, value: Int64(counters.quorumFailures.load(ordering: .relaxed))),
            BackendMetric(name: "stowage_cluster_collected_data_total", kind: .counter, value: Int64(counters.collected.load(ordering: .relaxed))),
            BackendMetric(name: "stowage_cluster_collections_pending", kind: .gauge, value: Int64(collections.withLock { $0.count })),
            BackendMetric(name: "stowage_cluster_collections_deferred_total", kind: .counter, value: Int64(counters.collectionsDeferred.load(ordering: .relaxed))),
            BackendMetric(name: "stowage_cluster_replaced_data_pending", kind: .gauge, value: Int64(await orphansPending())),
        ]
        if let membership = lifecycle?.membership() {
            metrics.append(BackendMetric(name: "stowage_cluster_map_epoch", kind: .gauge, value: Int64(membership.epoch)))
            metrics.append(BackendMetric(name: "stowage_cluster_isolated", kind: .gauge, value: membership.standing == "connected" ? 0 : 1))
            for member in membership.members {
                for liveness in ["online", "suspect", "offline"] {
                    metrics.append(BackendMetric(
                        name: "stowage_cluster_node_liveness", kind: .gauge, labels: ["node": member.id, "state": liveness],
                        value: member.liveness == liveness ? 1 : 0))
                }
            }
        }
        for drive in await clusterStatus().drives where drive.set >= 0 {
            metrics.append(BackendMetric(
                name: "stowage_cluster_drive_online", kind: .gauge, labels: ["drive": drive.path, "node": drive.node, "set": "\(drive.set)"],
                value: drive.state == "online" ? 1 : 0))
        }
        return metrics
    }

    static func space(_ path: String) -> (free: Int64, total: Int64, filesystem: UInt64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return (Int64(info.f_bavail) * Int64(info.f_frsize), Int64(info.f_blocks) * Int64(info.f_frsize), UInt64(info.f_fsid))
    }
}

/// What the cluster counts for `/_stowage/metrics`.
final class ClusterCounters: Sendable {
    /// Object reads (per part) that reconstructed at least one chunk.
    let degradedReads = Atomic<Int>(0)
    let reconstructedChunks = Atomic<Int>(0)
    /// Register operations and data writes that ended without a quorum (a 503).
    let quorumFailures = Atomic<Int>(0)
    /// Data refs the collector removed.
    let collected = Atomic<Int>(0)
    /// Scanner runs that kept data for now (a drive silent, a write in flight): tried again later.
    let collectionsDeferred = Atomic<Int>(0)
}

/// True the first time only.
final class OnceFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func first() -> Bool { !flag.exchange(true, ordering: .relaxed) }
}
