import Foundation
import HTTPTypes
import Logging
import StowageCluster
import StowageCore
import StowageQUIC

/// Answers processes that join with a token (CLUSTER.md §9), on the node that holds the
/// cluster CA: the token's secret must match an unexpired, unused token (it is then used up,
/// whatever follows), the node must fit the map (a new name, a new address, drives); it is
/// added as a spare under a new epoch and gets a certificate the CA signs. Every other verb
/// from a process without a certificate is refused.
struct JoinAdmission: ClusterRequestHandler {
    /// The same node: name, address and drives (its index and pool are the map's).
    static func same(_ a: ClusterMap.Member, _ b: ClusterMap.Member) -> Bool {
        a.id == b.id && a.address == b.address && a.drives == b.drives
    }

    let state: NodeStateDirectory
    let logger: Logger
    let clock: @Sendable () -> UInt64
    /// Told the new map once the join is recorded (the running node adopts it).
    let admitted: @Sendable (ClusterMap) -> Void

    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        guard request.verb == MembershipVerb.join else {
            return MembershipBody.refusal(.forbidden, "a process without a cluster certificate may only join")
        }
        let join: JoinRequest
        do {
            join = try await MembershipBody.decode(JoinRequest.self, from: request.body)
        } catch {
            return MembershipBody.refusal(.badRequest, "the join request is not readable: \(error)")
        }
        guard let secret = StowageCore.Hex.decode(join.secret), secret.count == 32 else {
            return MembershipBody.refusal(.forbidden, "the join token is not valid")
        }
        guard NodeCredentials.isValidNodeID(join.node.id) else {
            return MembershipBody.refusal(.badRequest, "'\(join.node.id)' is not a node ID: 1 to 63 of a-z, 0-9 and '-'")
        }
        do {
            var recorded: ClusterMap?
            let answer = try state.locked { () throws -> ClusterResponse in
                let now = clock()
                let stored = try state.readTokens()
                var tokens = stored.filter { $0.issued.expiresMs > now }
                guard let used = tokens.firstIndex(where: { $0.issued.admits(secret, nowMs: now) }) else {
                    if tokens.count != stored.count { try state.writeTokens(tokens) }
                    return MembershipBody.refusal(.forbidden, "the join token is not valid, has expired or was used")
                }
                var map = try state.readMap()
                if let admitted = tokens[used].admitted {
                    // Used once already: only by the very node it admitted, asking again
                    // because its answer was lost; it gets a new certificate, the same place.
                    guard Self.same(admitted, join.node) else {
                        return MembershipBody.refusal(.forbidden, "the join token is not valid, has expired or was used")
                    }
                } else {
                    // One use, even if the node is refused below: a token is never tried twice.
                    tokens[used].admitted = join.node
                    try state.writeTokens(tokens)
                }
                if map.member(join.node.id) == nil {
                    do {
                        try map.admit(join.node)
                    } catch {
                        return MembershipBody.refusal(.conflict, "\(error)")
                    }
                    try state.writeMap(map)
                    recorded = map
                    logger.notice("node joined the cluster as a spare", metadata: [
                        "node": "\(join.node.id)", "address": "\(join.node.address)", "drives": "\(join.node.drives.count)", "epoch": "\(map.epoch)",
                    ])
                } else if let member = map.member(join.node.id), !Self.same(member, join.node) {
                    return MembershipBody.refusal(.conflict, "a node named \(join.node.id) is already a member")
                }
                let credentials = try state.authority(clusterID: map.clusterID).issue(nodeID: join.node.id)
                return ClusterResponse(status: .ok, body: MembershipBody.encode(JoinAnswer(
                    certificate: credentials.certificatePEM, privateKey: credentials.privateKeyPEM,
                    caCertificate: credentials.caCertificatePEM, map: map)))
            }
            if let recorded { admitted(recorded) }
            return answer
        } catch {
            // The details stay in this node's log: the asker has no certificate.
            logger.error("join failed", metadata: ["node": "\(join.node.id)", "error": "\(error)"])
            return MembershipBody.refusal(.internalServerError, "the join could not be recorded; see the log of the node that formed the cluster")
        }
    }
}
