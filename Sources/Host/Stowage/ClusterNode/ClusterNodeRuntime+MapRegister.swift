import Foundation
import HTTPTypes
import Logging
import StowageCluster
import StowageCore
import Synchronization

/// The cluster map through its register (CLUSTER.md §9). Once pool 0 has formed and this
/// node's drives are open, every change to the map (a join, a pool) is a compare-and-set on
/// `sys/cluster` in the system set, chosen by a quorum of its drives or refused with nothing
/// changed; a node behind reads the register rather than trusting whichever member answers
/// first. The map file in the state directory is this node's durable copy of the newest map
/// it has seen; on the node that formed the cluster it is also the seed the register starts
/// from (pool 0 forms before there is a system set to hold the map).
extension ClusterNodeRuntime {
    func attachMapRegister(_ register: ClusterMapRegister) {
        mapRegister.withLock { $0 = register }
        Task { await reconcileWithRegister() }
    }

    /// On the node that formed the cluster: writes its map into the register if the register
    /// holds none or an older one (what it formed before its drives opened); on any node,
    /// adopts the register's map if it is newer. Until it succeeds, each heartbeat asks again.
    func reconcileWithRegister() async {
        guard let register = mapRegister.withLock({ $0 }) else { return }
        guard mapReconciliation.withLock({ state in
            defer { state = .running }
            return state == .pending
        }) else { return }
        var outcome = MapReconciliation.pending
        defer { mapReconciliation.withLock { $0 = outcome } }
        do {
            let held: ClusterMap?
            if state.holdsAuthority {
                let file = try state.readMap()
                held = try await register.change(seed: file) { base in
                    file.supersedes(base) && file.extends(base) ? file : nil
                }
                if let held, file.supersedes(held) {
                    logger.error("this node's map file and the cluster map register disagree: the register's map is kept", metadata: [
                        "file epoch": "\(file.epoch)", "register epoch": "\(held.epoch)",
                    ])
                }
            } else {
                held = try await register.read()
            }
            if let held { introduce(try adopt(held)) }
            outcome = .done
        } catch {
            logger.warning("the cluster map register could not be read or written yet; retrying at the next heartbeat", metadata: ["error": "\(error)"])
        }
    }

    /// The newest map from the register, if this node reads it and it is newer than this
    /// node's; true if one was adopted.
    func fetchFromRegister() async -> Bool {
        guard let register = mapRegister.withLock({ $0 }) else { return false }
        do {
            guard let held = try await register.read(), held.supersedes(map.withLock({ $0 })) else { return false }
            introduce(try adopt(held))
            return true
        } catch {
            logger.warning("the cluster map register could not be read", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Changes the cluster map through its register and adopts the result. Throws while this
    /// node's drives are not open (it has no system set to reach).
    func changeMap(_ change: @escaping @Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap?) async throws -> ClusterMap {
        guard let register = mapRegister.withLock({ $0 }) else {
            throw ClusterMapRegister.Failure.unavailable("node \(local) has not opened its drives yet")
        }
        let seed = state.holdsAuthority ? try state.readMap() : nil
        let changed = try await register.change(seed: seed, change)
        introduce(try adopt(changed))
        return changed
    }

    /// `stowage cluster expand` through this node: the next pool forms from the spares. Before
    /// pool 0 exists the map lives in the founder's file alone, so only the founder forms it.
    func expandPool() async -> ClusterResponse {
        let before = map.withLock { $0 }
        do {
            let after: ClusterMap
            if mapRegister.withLock({ $0 }) != nil {
                after = try await changeMap { base throws(ClusterMap.Refused) in
                    var next = base
                    try next.formPool()
                    return next
                }
            } else if before.pools.isEmpty, state.holdsAuthority {
                after = try ClusterAdministration.formPoolInFile(state)
                introduce(try adopt(after))
            } else {
                return MembershipBody.refusal(.serviceUnavailable, "node \(local) has not opened its drives yet: run expand on a serving member")
            }
            let index = after.pools.count - 1
            let formed = after.members.filter { $0.pool == index }.map(\.id)
            logger.notice("a pool formed", metadata: ["pool": "\(index)", "nodes": "\(formed)", "epoch": "\(after.epoch)"])
            return ClusterResponse(status: .ok, body: MembershipBody.encode(ExpandAnswer(
                message: "formed pool \(index) from \(formed.joined(separator: ", ")): \(after.pools[index].sets.count) erasure set(s) of \(after.dataShards)+\(after.parityShards); map epoch \(after.epoch)")))
        } catch let failure as ClusterMapRegister.Failure {
            switch failure {
            case .refused(let reason): return MembershipBody.refusal(.conflict, reason)
            case .unavailable: return MembershipBody.refusal(.serviceUnavailable, "\(failure); nothing changed")
            }
        } catch {
            return MembershipBody.refusal(.conflict, "\(error)")
        }
    }
}

/// Whether this node has settled its map with the register since its drives opened.
enum MapReconciliation: Sendable, Equatable {
    case pending, running, done
}
