import Foundation
import HTTPTypes
public import Logging
import NIOCore
import StowageCluster
public import StowageCore
import StowageQUIC

/// What `stowage cluster init | token | join | expand` do (CLUSTER.md §9). `init` runs on the
/// first node; `token` on a node that holds the CA (that one, or a member it was copied to:
/// ``exportAuthority(_:to:)``); `join` runs on the node that
/// joins, before its first `stowage serve`; `expand` forms the first pool in the founder's map
/// file and later ones through any serving member's map register.
///
/// ```swift
/// let summary = try ClusterAdministration.initialize(configuration)       // first node
/// let token = try ClusterAdministration.issueToken(configuration, ttlSeconds: 3600)
/// try await ClusterAdministration.join(joinerConfiguration, token: token, seeds: ["10.0.0.1:4000"])
/// try await ClusterAdministration.expand(configuration)                    // form the pool
/// ```
public enum ClusterAdministration {
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    /// No seed answered a join at all (none is up yet, perhaps): unlike a refusal, worth
    /// asking again.
    public struct NoAnswer: Error, CustomStringConvertible {
        public let description: String
    }

    /// Forms a cluster of this one node: a CA (its key stays here), this node's certificate,
    /// and a map with this node as its only member, a spare until `expand`.
    public static func initialize(_ configuration: StowageConfiguration) throws -> String {
        let state = NodeStateDirectory(configuration)
        guard !state.isMember else { throw Refused(description: "\(state.path) already holds a cluster identity") }
        try refuseDrivesOfAnotherMembership(configuration)
        let node = try member(configuration)
        let clusterID = "c-" + UUID().uuidString.lowercased().prefix(8)
        let authority = try ClusterCertificateAuthority.generate(clusterID: clusterID)
        let credentials = try authority.issue(nodeID: node.id)
        let erasure = configuration.cluster.erasure
        let map = ClusterMap.founding(
            clusterID: clusterID, node: node, dataShards: erasure.dataShards, parityShards: erasure.parityShards,
            chunkSize: erasure.chunkSizeBytes)
        try state.locked {
            try state.writeAuthority(authority)
            try state.writeMap(map)
            try credentials.write(to: state.tlsDirectory)
        }
        return "formed cluster \(clusterID) with node \(node.id) at \(node.address); CA fingerprint \(try authority.fingerprint())"
    }

    /// A one-time join token, good for `ttlSeconds`; only its hash is kept.
    public static func issueToken(_ configuration: StowageConfiguration, ttlSeconds: Int) throws -> String {
        let state = NodeStateDirectory(configuration)
        guard state.holdsAuthority else {
            throw Refused(description: "\(state.path) holds no cluster CA: tokens are issued on the node that ran `stowage cluster init` or one it was copied to (`stowage cluster authority`)")
        }
        guard ttlSeconds > 0 else { throw Refused(description: "--ttl must be positive") }
        return try state.locked {
            let map = try state.readMap()
            let local = try state.credentials().nodeID
            guard !map.pools.isEmpty || map.member(local)?.index == 0 else {
                throw Refused(description: "until the first pool forms only the node that formed the cluster admits joiners: issue the token there")
            }
            let fingerprint = try state.authority(clusterID: map.clusterID).fingerprint()
            let now = ClusterNodeRuntime.nowMs()
            let (token, issued) = JoinToken.make(clusterID: map.clusterID, caFingerprint: fingerprint, ttlMs: UInt64(ttlSeconds) * 1000, nowMs: now)
            try state.writeTokens(try state.readTokens().filter { $0.issued.expiresMs > now } + [.init(issued: issued, admitted: nil)])
            return token.encoded
        }
    }

    /// Joins the cluster `token` names through the first of `seeds` (`host:quicPort`) that
    /// answers: the node that holds the CA checks the token and signs this node's certificate.
    public static func join(_ configuration: StowageConfiguration, token text: String, seeds: [String]) async throws -> String {
        let state = NodeStateDirectory(configuration)
        guard !state.isMember else { throw Refused(description: "\(state.path) already holds a cluster identity") }
        try refuseDrivesOfAnotherMembership(configuration)
        let token = try JoinToken(parsing: text)
        let node = try member(configuration)
        guard !seeds.isEmpty else { throw Refused(description: "no seed to join through: pass --seed host:port or set cluster.seedNodes") }
        let endpoint = try await QUICEndpoint.joining(pinning: token.caFingerprint, host: configuration.clusterQUICHost ?? "127.0.0.1")
        do {
            let result = try await join(through: endpoint, token: token, node: node, seeds: seeds, state: state)
            try? await endpoint.close()
            return result
        } catch {
            try? await endpoint.close()
            throw error
        }
    }

    private static func join(
        through endpoint: QUICEndpoint, token: JoinToken, node: ClusterMap.Member, seeds: [String], state: NodeStateDirectory
    ) async throws -> String {
        let request = JoinRequest(secret: StowageCore.Hex.encode(token.secret), node: node)
        var failures: [String] = []
        var refused = false
        for seed in seeds {
            guard let address = ClusterNodeRuntime.socketAddress(seed) else {
                failures.append("\(seed): not host:port")
                continue
            }
            // A join whose answer was lost may have been recorded: the same request again is
            // answered with the same membership (the token remembers the node it admitted).
            var response: ClusterResponse?
            for _ in 0..<3 where response == nil {
                do {
                    response = try await endpoint.send(
                        ClusterRequest(verb: MembershipVerb.join, resource: "cluster", body: MembershipBody.encode(request)),
                        to: NodeID("seed"), at: address)
                } catch ClusterTransportError.outcomeUnknown(_, let reason) {
                    failures.append("\(seed): no answer (\(reason)); asked again")
                } catch {
                    failures.append("\(seed): \(error)")
                    break
                }
            }
            guard let response else { continue }
            guard response.status == .ok else {
                let refusal = try? await MembershipBody.decode(MembershipRefusal.self, from: response.body)
                let reason = "\(seed) refused the join (\(response.status.code)): \(refusal?.error ?? "no reason given")"
                // Another node that holds the CA may have issued the token, or reach the map.
                guard response.status == .forbidden || response.status == .serviceUnavailable else { throw Refused(description: reason) }
                failures.append(reason)
                refused = true
                continue
            }
            let answer = try await MembershipBody.decode(JoinAnswer.self, from: response.body)
            let credentials = NodeCredentials(
                nodeID: node.id, certificatePEM: answer.certificate, privateKeyPEM: answer.privateKey, caCertificatePEM: answer.caCertificate)
            guard try credentials.caFingerprint() == token.caFingerprint, answer.map.clusterID == token.clusterID else {
                throw Refused(description: "\(seed) answered for another cluster than the token's")
            }
            try state.locked {
                try state.writeMap(answer.map)
                try credentials.write(to: state.tlsDirectory)
            }
            return "joined cluster \(answer.map.clusterID) as \(node.id) (a spare, map epoch \(answer.map.epoch))"
        }
        if refused { throw Refused(description: failures.joined(separator: "; ")) }
        throw NoAnswer(description: "no seed answered: \(failures.joined(separator: "; "))")
    }

    /// Forms the next pool from the spares. The first pool (every node joined so far) forms in
    /// the map file of the node that formed the cluster, running or not; later ones through
    /// a serving member's map register (this node first, then the others), so any member may
    /// run it and two changes at once never fork the map.
    public static func expand(_ configuration: StowageConfiguration) async throws -> String {
        let state = NodeStateDirectory(configuration)
        let map = try state.readMap()
        if map.pools.isEmpty {
            // The founder's file is the only map until then (a copy of the CA elsewhere would
            // form a pool 0 of its own: a second map under the same epoch).
            guard state.holdsAuthority, map.member(try state.credentials().nodeID)?.index == 0 else {
                throw Refused(description: "until the first pool forms the map lives on the node that formed the cluster: run expand there")
            }
            let before = Set(map.spares.map(\.id))
            let formed = try formPoolInFile(state)
            let pool = formed.pools[formed.pools.count - 1]
            return "formed pool \(formed.pools.count - 1) from \(before.sorted().joined(separator: ", ")): \(pool.sets.count) erasure set(s) of \(formed.dataShards)+\(formed.parityShards); map epoch \(formed.epoch)"
        }
        let credentials = try state.credentials()
        let endpoint = try await QUICEndpoint.dialling(credentials: credentials, host: configuration.clusterQUICHost ?? "127.0.0.1")
        // This node first: it is the one the operator chose; then the members in pools.
        let members = map.members.filter { $0.id == credentials.nodeID } + map.members.filter { $0.id != credentials.nodeID && $0.pool != nil }
        do {
            let message = try await expand(through: endpoint, members: members)
            try? await endpoint.close()
            return message
        } catch {
            try? await endpoint.close()
            throw error
        }
    }

    private static func expand(through endpoint: QUICEndpoint, members: [ClusterMap.Member]) async throws -> String {
        var failures: [String] = []
        for member in members {
            guard let address = ClusterNodeRuntime.socketAddress(member.address) else { continue }
            let response: ClusterResponse
            do {
                response = try await endpoint.send(ClusterRequest(verb: MembershipVerb.expand, resource: "cluster"), to: NodeID(member.id), at: address)
            } catch ClusterTransportError.outcomeUnknown(_, let reason) {
                // Asking another member could form a second pool from nodes that joined since.
                throw Refused(description: "\(member.id) took the request but did not answer (\(reason)): the pool may have formed; see `stowage cluster status`")
            } catch {
                failures.append("\(member.id): \(error)")
                continue
            }
            if response.status == .ok {
                return try await MembershipBody.decode(ExpandAnswer.self, from: response.body).message
            }
            let refusal = (try? await MembershipBody.decode(MembershipRefusal.self, from: response.body))?.error ?? "no reason given"
            if response.status == .gatewayTimeout {
                throw Refused(description: "\(member.id): \(refusal): see `stowage cluster status` before asking again")
            }
            guard response.status == .serviceUnavailable else { throw Refused(description: refusal) }
            failures.append("\(member.id): \(refusal)")
        }
        throw Refused(description: "no member could form the pool; nothing changed: \(failures.joined(separator: "; "))")
    }

    /// The first pool, formed in the founder's map file (there is no system set yet to hold the
    /// map; the running founder rereads the file at its next heartbeat).
    static func formPoolInFile(_ state: NodeStateDirectory) throws -> ClusterMap {
        try state.locked {
            var map = try state.readMap()
            guard map.pools.isEmpty else {
                throw Refused(description: "the first pool has formed already: later pools form through a serving member")
            }
            do {
                try map.formPool()
            } catch {
                throw Refused(description: "\(error)")
            }
            try state.writeMap(map)
            return map
        }
    }

    /// On a node's first start with `cluster.seedNodes` and `cluster.formationSecret` (and no
    /// identity yet): its part in forming the cluster from the seeds (``SeedFormation``); the
    /// founder returns at once, any other node once it has joined the founder. False when
    /// there is nothing to form. Cancel the task to stop waiting.
    ///
    /// ```swift
    /// try await ClusterAdministration.formFromSeeds(configuration, logger: logger)
    /// let server = try Stowage(configuration)
    /// ```
    @discardableResult
    public static func formFromSeeds(_ configuration: StowageConfiguration, logger: Logger) async throws -> Bool {
        guard configuration.cluster.enabled, !NodeStateDirectory(configuration).isMember,
              let formation = try SeedFormation(configuration) else { return false }
        try await formation.form(configuration, logger: logger)
        return true
    }

    /// A fresh formation secret: 32 random bytes, hex.
    public static func newFormationSecret() -> String { StowageCore.Hex.encode(SecureRandom.bytes(32)) }

    /// Before forming or joining: a drive that already carries a cluster's format is refused.
    /// This node was a member and has lost its state directory, and forming or joining anew
    /// would found a second cluster over the first one's drives (restore the state directory
    /// instead).
    static func refuseDrivesOfAnotherMembership(_ configuration: StowageConfiguration) throws {
        for path in configuration.cluster.drives.paths {
            if case .formatted(let format) = DriveFormatFile.read(drive: path) {
                throw Refused(description: "drive \(path) already belongs to cluster \(format.clusterID) (pool \(format.pool), drive \(format.driveUUID)), but \(NodeStateDirectory(configuration).path) holds no identity for it: restore this node's state directory instead of forming or joining a cluster anew")
            }
        }
    }

    /// This node as the map lists it: its ID (configured, else generated), QUIC address and drives.
    static func member(_ configuration: StowageConfiguration) throws -> ClusterMap.Member {
        let id = configuration.cluster.nodeId ?? "node-" + UUID().uuidString.lowercased().prefix(8)
        guard NodeCredentials.isValidNodeID(id) else {
            throw ConfigurationError(field: "cluster.nodeId", reason: "'\(id)' is not a node ID: 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'")
        }
        guard let host = configuration.clusterQUICHost else {
            throw ConfigurationError(field: "cluster.quicAddress", reason: "must name the address other nodes reach this node at (server.address is a wildcard)")
        }
        guard !configuration.cluster.drives.paths.isEmpty else {
            throw ConfigurationError(field: "cluster.drives.paths", reason: "must list this node's drive directories")
        }
        let address = host.contains(":") ? "[\(host)]:\(configuration.cluster.quicPort)" : "\(host):\(configuration.cluster.quicPort)"
        return ClusterMap.Member(id: id, address: address, drives: configuration.cluster.drives.paths)
    }
}
