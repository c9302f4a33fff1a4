import Foundation
import HTTPTypes
import Synchronization
import Logging
import ServiceLifecycle
import StowageCluster
import StowageCore

/// Heartbeats (CLUSTER.md §9): every `heartbeatIntervalMs` this node sends one to each other
/// member over the pooled QUIC connection, at most one interval to answer; the failure
/// detector judges them (suspect after two silent intervals, offline after the timeout only
/// while this node sees a majority) and every change is logged. A member answering with a
/// newer map epoch makes this node fetch the map. Advisory only (F18): nothing here decides
/// whether a write is safe.
struct HeartbeatService: Service {
    let runtime: ClusterNodeRuntime

    func run() async throws {
        let interval = Duration.milliseconds(Int64(runtime.settings.heartbeatIntervalMs))
        await cancelWhenGracefulShutdown {
            var beats = 0
            while !Task.isCancelled {
                // An answer may take up to the suspect threshold (two intervals) on a busy node.
                await beat(timeout: interval * 2, readRegister: beats % 10 == 9)
                beats += 1
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// `readRegister`: read the map register even if no member shows a newer epoch (a change
    /// whose maker never adopted it, its outcome unknown, is found this way).
    func beat(timeout: Duration, readRegister: Bool = false) async {
        // The node that formed the cluster: `stowage cluster expand` forms the first pool in
        // its map file from another process.
        if runtime.isFounder, let onDisk = try? runtime.state.readMap(), let adopted = try? runtime.adopt(onDisk) {
            runtime.introduce(adopted)
        }
        if runtime.mapReconciliation.withLock({ $0 == .pending }), runtime.mapRegister.withLock({ $0 != nil }) {
            Task { [runtime] in await runtime.reconcileWithRegister() }
        }
        let (members, epoch) = runtime.map.withLock { map in (map.members.map(\.id), map.epoch) }
        let others = members.filter { $0 != runtime.local.rawValue }
        let behind = await withTaskGroup(of: Bool.self) { group in
            for node in others {
                group.addTask { await ping(NodeID(node), epoch: epoch, timeout: timeout) }
            }
            return await group.reduce(false) { $0 || $1 }
        }
        let changes = runtime.detector.withLock { $0.evaluate(atMs: ClusterNodeRuntime.nowMs()) }
        for change in changes {
            switch change {
            case .standing(.isolated):
                runtime.logger.error("this node sees no majority of the cluster: it marks nobody offline", metadata: ["node": "\(runtime.local)"])
                for node in others where runtime.unreachableReason(NodeID(node)) != nil { await runtime.disconnect(NodeID(node)) }
            case .standing(.connected):
                runtime.logger.notice("this node sees a majority of the cluster again", metadata: ["node": "\(runtime.local)"])
            case .node(let node, let liveness):
                let level: Logger.Level = liveness == .online ? .notice : .warning
                runtime.logger.log(level: level, "node \(liveness.rawValue)", metadata: ["node": "\(node)"])
                // A killed process never closes its connections: requests waiting on it would
                // wait out the QUIC idle timeout. Once it is judged unreachable they fail now
                // (outcome unknown, which the protocols handle) and the next request, once it
                // answers heartbeats again, dials afresh.
                if runtime.unreachableReason(node) != nil { await runtime.disconnect(node) }
            }
        }
        if !changes.isEmpty { await runtime.livenessChanged() }
        if behind || readRegister {
            // Off the beat, one at a time: a slow map fetch must not stall the heartbeats.
            runtime.fetchInBackground(askingMembers: behind)
        }
    }

    /// One heartbeat; true if the peer's map is newer than ours.
    private func ping(_ node: NodeID, epoch: Int, timeout: Duration) async -> Bool {
        let runtime = self.runtime
        let answer = await ClusterNodeRuntime.withDeadline(timeout) { () -> Int? in
            guard let response = try? await runtime.send(ClusterRequest(verb: MembershipVerb.heartbeat, resource: "cluster"), to: node),
                  response.status == .ok else { return nil }
            return Int(response.fields[ClusterRequest.epoch] ?? "") ?? 0
        }
        guard let peerEpoch = answer ?? nil else { return false }
        runtime.detector.withLock { $0.heard(from: node, atMs: ClusterNodeRuntime.nowMs()) }
        return peerEpoch > epoch
    }
}
