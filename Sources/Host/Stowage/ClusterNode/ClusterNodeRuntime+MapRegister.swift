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
        // Right after a pool forms the other nodes are still opening their drives: try again
        // soon rather than only at the heartbeats.
        Task {
            for _ in 0..<40 {
                await reconcileWithRegister()
                guard mapReconciliation.withLock({ $0 == .pending }) else { return }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    /// On the node that formed the cluster: writes its map into the register if the register
    /// holds none or an older one it extends (what it formed before its drives opened); on
    /// any node, adopts the register's map if it is newer. Until it succeeds, each heartbeat
    /// asks again.
    func reconcileWithRegister() async {
        guard let register = mapRegister.withLock({ $0 }) else { return }
        let starts = mapReconciliation.withLock { state in
            guard state == .pending else { return false }
            state = .running
            return true
        }
        guard starts else { return }
        var outcome = MapReconciliation.pending
        defer { mapReconciliation.withLock { $0 = outcome } }
        do {
            let held: ClusterMap?
            if isFounder {
                let file = try state.readMap()
                let settled = try await register.change(seed: file) { base in
                    file.supersedes(base) && file.extends(base) ? file : nil
                }
                if settled != file, !settled.extends(file) {
                    // A map file that is not a past of the register's (restored from an old
                    // backup, edited by hand): the register, chosen by a quorum, is the map.
                    logger.error("this node's map file is not a past of the cluster map register's: the register's map replaces it", metadata: [
                        "file epoch": "\(file.epoch)", "register epoch": "\(settled.epoch)",
                    ])
                    introduce(try adopt(settled, replacing: true))
                    outcome = .done
                    return
                }
                held = settled
            } else {
                held = try await register.read()
            }
            if let held { introduce(try adopt(held)) }
            registerEpoch.withLock { $0 = held?.epoch }
            logger.notice("the cluster map register is read", metadata: ["epoch": "\(held.map { String($0.epoch) } ?? "none yet")"])
            outcome = .done
        } catch {
            logger.warning("the cluster map register could not be read or written yet; retrying at the next heartbeat", metadata: ["error": "\(error)"])
        }
    }

    /// The node that formed the cluster (index 0): its map file is the register's seed. Any
    /// other node's file is only a copy, and could be behind.
    var isFounder: Bool { map.withLock { $0.member(local.rawValue)?.index == 0 } }

    /// Reads the register (at most 2 s) and adopts its map if it is newer than this node's;
    /// true if it was.
    func fetchFromRegister() async -> Bool {
        guard let register = mapRegister.withLock({ $0 }) else { return false }
        let read: Result<ClusterMap?, ClusterMapRegister.Failure>? = await Self.withDeadline(.seconds(2)) {
            do throws(ClusterMapRegister.Failure) {
                return .success(try await register.read())
            } catch {
                return .failure(error)
            }
        }
        let held: ClusterMap
        switch read {
        case .success(let map?)?:
            held = map
        case .success(nil)?:
            return false
        case .failure(let error)?:
            logger.warning("the cluster map register could not be read", metadata: ["error": "\(error)"])
            return false
        case nil:
            logger.warning("the cluster map register did not answer within 2 s")
            return false
        }
        registerEpoch.withLock { $0 = held.epoch }
        guard held.supersedes(map.withLock({ $0 })) else { return false }
        do {
            introduce(try adopt(held))
            return true
        } catch {
            logger.error("a newer cluster map could not be kept", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// A map fetch off the heartbeat, unless one is running: the register, then (if
    /// `askingMembers` and the register had nothing newer) the members.
    func fetchInBackground(askingMembers: Bool) {
        let starts = mapFetchRunning.withLock { running in
            defer { running = true }
            return !running
        }
        guard starts else { return }
        Task {
            if askingMembers { await fetchNewerMap() } else { _ = await fetchFromRegister() }
            mapFetchRunning.withLock { $0 = false }
        }
    }

    /// Changes the cluster map through its register and adopts the result. Throws while this
    /// node's drives are not open (it has no system set to reach). Whatever the outcome, a
    /// newer map the register holds is adopted (another node's change this one was refused on,
    /// or this one's own, chosen after all).
    func changeMap(_ change: @escaping @Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap?) async throws -> ClusterMap {
        guard let register = mapRegister.withLock({ $0 }) else {
            throw ClusterMapRegister.Failure.unavailable("node \(local) has not opened its drives yet")
        }
        let seed = isFounder ? try state.readMap() : nil
        let changed: ClusterMap
        do {
            changed = try await register.change(seed: seed, change)
        } catch {
            _ = await fetchFromRegister()
            throw error
        }
        registerEpoch.withLock { $0 = changed.epoch }
        introduce(try adopt(changed))
        return changed
    }

    /// `stowage cluster expand` through this node: the next pool forms from the spares. The
    /// first pool forms in the founder's map file, by the command itself (no system set yet).
    func expandPool() async -> ClusterResponse {
        guard mapRegister.withLock({ $0 }) != nil else {
            return MembershipBody.refusal(.serviceUnavailable, "node \(local) has not opened its drives yet: run expand on a serving member")
        }
        let after: ClusterMap
        do {
            after = try await changeMap { base throws(ClusterMap.Refused) in
                var next = base
                try next.formPool()
                return next
            }
        } catch let failure as ClusterMapRegister.Failure {
            switch failure {
            case .refused(let reason): return MembershipBody.refusal(.conflict, reason)
            case .unavailable: return MembershipBody.refusal(.serviceUnavailable, "\(failure); nothing changed")
            case .outcomeUnknown: return MembershipBody.refusal(.gatewayTimeout, "\(failure)")
            }
        } catch {
            logger.error("expand did not complete", metadata: ["error": "\(error)"])
            return MembershipBody.refusal(.internalServerError, "node \(local) could not complete the expand (\(error)); see `stowage cluster status` before asking again")
        }
        let index = after.pools.count - 1
        let formed = after.members.filter { $0.pool == index }.map(\.id)
        logger.notice("a pool formed", metadata: ["pool": "\(index)", "nodes": "\(formed)", "epoch": "\(after.epoch)"])
        return ClusterResponse(status: .ok, body: MembershipBody.encode(ExpandAnswer(
            message: "formed pool \(index) from \(formed.joined(separator: ", ")): \(after.pools[index].sets.count) erasure set(s) of \(after.dataShards)+\(after.parityShards); map epoch \(after.epoch)")))
    }
}

/// Whether this node has settled its map with the register since its drives opened.
enum MapReconciliation: Sendable, Equatable {
    case pending, running, done
}
