import Foundation
import HTTPTypes
import Logging
import StowageCluster
import StowageCore
import StowageQUIC

/// Answers processes that join with a token (CLUSTER.md §9), on the node that holds the
/// cluster CA: the token's secret must match an unexpired, unused token (it is then used up,
/// whatever follows), the node must fit the map (a new name, a new address, drives); it is
/// added as a spare under a new epoch and gets a certificate the CA signs. While a cluster
/// forms from seeds (``SeedFormation``), a listed node may instead prove the formation secret,
/// and the pool forms once every listed node has joined. Every other verb from a process
/// without a certificate is refused.
struct JoinAdmission: ClusterRequestHandler {
    /// The same node: name, address and drives (its index and pool are the map's).
    static func same(_ a: ClusterMap.Member, _ b: ClusterMap.Member) -> Bool {
        a.id == b.id && a.address == b.address && a.drives == b.drives
    }

    let state: NodeStateDirectory
    let logger: Logger
    let clock: @Sendable () -> UInt64
    /// The seed formation this node founds, if any.
    var formation: SeedFormation? = nil
    /// Whether this node has heard from a member over mutual TLS (a heartbeat, say): such a
    /// member holds its certificate, and the formation secret never issues it another.
    var heardFrom: @Sendable (String) -> Bool = { _ in false }
    /// Changes the map through its register (``ClusterNodeRuntime/changeMap(_:)``): how a node
    /// joins once pool 0 has formed.
    var changeMap: @Sendable (@escaping @Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap?) async throws -> ClusterMap = { _ in
        throw ClusterMapRegister.Failure.unavailable("this node reaches no map register")
    }
    /// Told the new map once the join is recorded (the running node adopts it).
    let admitted: @Sendable (ClusterMap) -> Void


    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        if request.verb == MembershipVerb.formationHello { return try await hello(request) }
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
            var throughRegister = false
            let answer = try state.locked { () throws -> ClusterResponse in
                var map = try state.readMap()
                if let formation, let proof = formationProof(map), ConstantTime.equals(secret, proof) {
                    // A member asking again gets its place again only while it has not been
                    // heard from (its answer was lost): the secret never issues a certificate
                    // in the name of a node that holds one, nor in this node's.
                    if let member = map.member(join.node.id) {
                        guard Self.same(member, join.node), join.node.id != local, !heardFrom(member.id) else {
                            return MembershipBody.refusal(.forbidden, "\(join.node.id) is a member already")
                        }
                    } else if !map.pools.isEmpty {
                        return MembershipBody.refusal(.forbidden, "the cluster formed from seeds already; join with a token (stowage cluster token)")
                    }
                    guard formation.lists(join.node.address) else {
                        return MembershipBody.refusal(.forbidden, "\(join.node.address) is not one of the seed nodes this cluster forms from")
                    }
                    return try admit(join.node, into: &map, recorded: &recorded, formation: formation)
                }
                // Before pool 0 the map is the founder's file alone; a copy of the CA elsewhere
                // admits nobody until the map is a register.
                guard !map.pools.isEmpty || map.member(local)?.index == 0 else {
                    return MembershipBody.refusal(.serviceUnavailable, "until the first pool forms, join through the node that formed the cluster")
                }
                let now = clock()
                let stored = try state.readTokens()
                var tokens = stored.filter { $0.issued.expiresMs > now }
                guard let used = tokens.firstIndex(where: { $0.issued.admits(secret, nowMs: now) }) else {
                    if tokens.count != stored.count { try state.writeTokens(tokens) }
                    return MembershipBody.refusal(.forbidden, "the join token is not valid, has expired or was used")
                }
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
                // Once pool 0 has formed, the map changes through its register only.
                guard map.pools.isEmpty else {
                    throughRegister = true
                    return ClusterResponse(status: .accepted)
                }
                return try admit(join.node, into: &map, recorded: &recorded, formation: nil)
            }
            if throughRegister { return await admitThroughRegister(join.node) }
            if let recorded { admitted(recorded) }
            return answer
        } catch {
            // The details stay in this node's log: the asker has no certificate.
            logger.error("join failed", metadata: ["node": "\(join.node.id)", "error": "\(error)"])
            return MembershipBody.refusal(.internalServerError, "the join could not be recorded; see the log of the node that formed the cluster")
        }
    }

    /// Adds `node` as a spare (once; the same node asking again gets the same place), forms
    /// the pool when a seed formation has all its nodes, and answers with a certificate.
    private func admit(
        _ node: ClusterMap.Member, into map: inout ClusterMap, recorded: inout ClusterMap?, formation: SeedFormation?
    ) throws -> ClusterResponse {
        if map.member(node.id) == nil {
            do {
                try map.admit(node)
            } catch {
                return MembershipBody.refusal(.conflict, "\(error)")
            }
            logger.notice("node joined the cluster as a spare", metadata: [
                "node": "\(node.id)", "address": "\(node.address)", "drives": "\(node.drives.count)", "epoch": "\(map.epoch)",
            ])
            if let formation, map.pools.isEmpty, Set(formation.members).isSubset(of: map.members.map { $0.address.lowercased() }) {
                do {
                    let pool = try map.formPool()
                    logger.notice("every seed node joined: the pool formed", metadata: [
                        "sets": "\(pool.sets.count)", "nodes": "\(formation.members)", "epoch": "\(map.epoch)",
                    ])
                } catch {
                    // The spares stay spares; `stowage cluster expand` says why again.
                    logger.error("every seed node joined, but they do not form a pool", metadata: ["error": "\(error)"])
                }
            }
            try state.writeMap(map)
            recorded = map
        } else if let member = map.member(node.id), !Self.same(member, node) {
            return MembershipBody.refusal(.conflict, "a node named \(node.id) is already a member")
        }
        return try certificate(for: node, in: map)
    }

    /// Adds `node` as a spare through the map register (the same node asking again, its answer
    /// lost, finds itself there and gets a certificate again) and answers with a certificate.
    /// With no quorum for the register nothing changes; the token stays this node's to retry.
    private func admitThroughRegister(_ node: ClusterMap.Member) async -> ClusterResponse {
        do {
            let map = try await changeMap { base throws(ClusterMap.Refused) in
                if let member = base.member(node.id) {
                    guard Self.same(member, node) else { throw ClusterMap.Refused(description: "a node named \(node.id) is already a member") }
                    return nil
                }
                var next = base
                try next.admit(node)
                return next
            }
            logger.notice("node joined the cluster as a spare", metadata: [
                "node": "\(node.id)", "address": "\(node.address)", "drives": "\(node.drives.count)", "epoch": "\(map.epoch)",
            ])
            do {
                return try certificate(for: node, in: map)
            } catch {
                logger.error("a node joined but its certificate could not be issued", metadata: ["node": "\(node.id)", "error": "\(error)"])
                return MembershipBody.refusal(.internalServerError, "the join was recorded but no certificate could be issued; join again with the same token")
            }
        } catch let failure as ClusterMapRegister.Failure {
            // The details (drives, quorums) stay in this node's log: the asker has no certificate.
            logger.warning("a join through the map register did not complete", metadata: ["node": "\(node.id)", "error": "\(failure)"])
            switch failure {
            case .refused(let reason): return MembershipBody.refusal(.conflict, reason)
            case .unavailable: return MembershipBody.refusal(.serviceUnavailable, "the cluster map cannot be changed now; nothing changed, join again with the same token")
            case .outcomeUnknown: return MembershipBody.refusal(.serviceUnavailable, "the join may or may not have been recorded; join again with the same token")
            }
        } catch {
            logger.error("join failed", metadata: ["node": "\(node.id)", "error": "\(error)"])
            return MembershipBody.refusal(.internalServerError, "the join could not be recorded; see the log of the node that formed the cluster")
        }
    }

    private func certificate(for node: ClusterMap.Member, in map: ClusterMap) throws -> ClusterResponse {
        let credentials = try state.authority(clusterID: map.clusterID).issue(nodeID: node.id)
        return ClusterResponse(status: .ok, body: MembershipBody.encode(JoinAnswer(
            certificate: credentials.certificatePEM, privateKey: credentials.privateKeyPEM,
            caCertificate: credentials.caCertificatePEM, map: map)))
    }

    /// The join secret a node forming from seeds presents (bound to this cluster's CA), while
    /// the formation is this node's to run.
    private func formationProof(_ map: ClusterMap) -> [UInt8]? {
        guard let formation, let fingerprint = try? state.authority(clusterID: map.clusterID).fingerprint() else { return nil }
        return formation.joinProof(caFingerprint: fingerprint)
    }

    /// The founder's answer to a node forming from seeds: its CA certificate and a proof,
    /// bound to that CA and the asker's nonce, that it knows the formation secret.
    private func hello(_ request: ClusterRequest) async throws -> ClusterResponse {
        // Answered as long as this node is configured to found from seeds (a node whose last
        // join answer was lost asks again); the proof is worth nothing without the secret.
        guard let formation, formationAnswers() else {
            return MembershipBody.refusal(.forbidden, "this node forms no cluster from seeds")
        }
        let hello: FormationHello
        do {
            hello = try await MembershipBody.decode(FormationHello.self, from: request.body)
        } catch {
            return MembershipBody.refusal(.badRequest, "the formation hello is not readable: \(error)")
        }
        guard let nonce = StowageCore.Hex.decode(hello.nonce), nonce.count == 32 else {
            return MembershipBody.refusal(.badRequest, "the nonce must be 32 bytes of hex")
        }
        let theirs = Set(hello.members.map { $0.lowercased() })
        guard theirs == Set(formation.members) else {
            return MembershipBody.refusal(.conflict, "the seed lists differ: this node forms from \(formation.members), the asker from \(theirs.sorted()) (write every address the same way on every node)")
        }
        let map = try state.readMap()
        let authority = try state.authority(clusterID: map.clusterID)
        let fingerprint = try authority.fingerprint()
        return ClusterResponse(status: .ok, body: MembershipBody.encode(FormationHelloAnswer(
            clusterID: map.clusterID, caCertificate: authority.certificatePEM,
            proof: StowageCore.Hex.encode(formation.founderProof(clusterID: map.clusterID, caFingerprint: fingerprint, nonce: nonce)))))
    }

    /// Whether the formation from seeds still answers processes without a certificate: until
    /// the pool has formed and this node has heard from every member (one whose last answer
    /// was lost may still ask again).
    func formationAnswers() -> Bool {
        guard formation != nil, let map = try? state.readMap() else { return false }
        return map.pools.isEmpty || map.members.contains { $0.id != local && !heardFrom($0.id) }
    }

    /// This node's ID (it holds the CA).
    private var local: String { (try? state.credentials().nodeID) ?? "" }
}
