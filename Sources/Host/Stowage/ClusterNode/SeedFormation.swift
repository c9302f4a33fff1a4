import Foundation
import HTTPTypes
import Logging
import NIOCore
import StowageCluster
import StowageCore
import StowageQUIC

/// A cluster formed from `cluster.seedNodes` on the nodes' first start (CLUSTER.md §1, §9),
/// without `init`, tokens or `expand`: every node lists the same nodes and shares
/// `cluster.formationSecret`. The node with the lowest address (the founder) makes the CA and
/// admits the others; each other node asks the founder for its CA certificate with a fresh
/// nonce, accepts it only with a proof that the answerer knows the secret (bound to that CA
/// and the nonce), then joins over a connection pinned to that CA, proving the secret in turn
/// (bound to the CA, so a proof shown to an impostor is worth nothing at the real founder).
/// The secret itself never crosses the network. The pool forms once every listed node has
/// joined; from then on the secret admits nobody (later nodes join with tokens).
///
/// ```swift
/// if let formation = try SeedFormation(configuration), !NodeStateDirectory(configuration).isMember {
///     try await formation.form(configuration, logger: logger)   // before `stowage serve` starts
/// }
/// ```
struct SeedFormation: Sendable {
    /// Every node that forms the cluster, as `host:quicPort`, sorted; the first is the founder.
    let members: [String]
    /// This node's address.
    let local: String
    let secret: [UInt8]

    var founder: String { members[0] }
    var isFounder: Bool { local == founder }

    /// Nil unless `cluster.formationSecret` and `cluster.seedNodes` are both set.
    init?(_ configuration: StowageConfiguration) throws {
        guard let secret = configuration.cluster.formationSecret, !configuration.cluster.seedNodes.isEmpty else { return nil }
        let local = try ClusterAdministration.member(Self.identified(configuration)).address
        self.init(seeds: configuration.cluster.seedNodes, local: local, secret: Array(secret.lowercased().utf8))
    }

    /// `configuration` with a node ID: the configured one, else one derived from the node's
    /// QUIC address, so every attempt to join (and a restart mid-join) asks as the same node.
    static func identified(_ configuration: StowageConfiguration) -> StowageConfiguration {
        guard configuration.cluster.nodeId == nil, let host = configuration.clusterQUICHost else { return configuration }
        var identified = configuration
        identified.cluster.nodeId = "node-" + Hex.encode(SHA256.hash(Array("\(host):\(configuration.cluster.quicPort)".utf8)).prefix(4))
        return identified
    }

    init(seeds: [String], local: String, secret: [UInt8]) {
        let normalized = seeds.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        members = Set(normalized + [local.lowercased()]).sorted()
        self.local = local.lowercased()
        self.secret = secret
    }

    func lists(_ address: String) -> Bool { members.contains(address.lowercased()) }

    // MARK: Proofs

    /// What the founder answers a hello with: it knows the secret, the CA it presents and the
    /// cluster ID are the ones the proof names, it forms from the same list of nodes, and the
    /// nonce makes the answer fresh.
    func founderProof(clusterID: String, caFingerprint: String, nonce: [UInt8]) -> [UInt8] {
        let message = ["stowage-formation-v1/founder", clusterID, caFingerprint, Hex.encode(nonce)] + members
        return HMACSHA256.authenticate(key: secret, message: Array(message.joined(separator: "\n").utf8))
    }

    /// What a joiner presents as its join secret: it knows the formation secret; bound to the
    /// CA it verified, so it admits only at that CA's founder.
    func joinProof(caFingerprint: String) -> [UInt8] {
        HMACSHA256.authenticate(key: secret, message: Array("stowage-formation-v1/join\n\(caFingerprint)".utf8))
    }

    // MARK: Forming

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    /// This node's part: the founder forms the cluster (and its pool at once if it is the only
    /// listed node); any other node waits for the founder and joins it. Cancellation stops the
    /// wait.
    func form(_ configuration: StowageConfiguration, logger: Logger) async throws {
        let configuration = Self.identified(configuration)
        if isFounder {
            let summary = try ClusterAdministration.initialize(configuration)
            logger.notice("formed the cluster from seeds as its founder; the other nodes join it", metadata: [
                "summary": "\(summary)", "nodes": "\(members)",
            ])
            if members.count == 1 { _ = try ClusterAdministration.formPoolInFile(NodeStateDirectory(configuration)) }
            return
        }
        var attempts = 0
        while true {
            try Task.checkCancellation()
            do {
                let summary = try await join(configuration)
                logger.notice("joined the cluster from seeds", metadata: ["summary": "\(summary)", "founder": "\(founder)"])
                return
            } catch let error as Unreachable {
                if attempts % 10 == 0 {
                    logger.notice("waiting for the founding node of the seed list (it must run with the same cluster.seedNodes and cluster.formationSecret)", metadata: ["founder": "\(founder)", "reason": "\(error)"])
                }
            }
            attempts += 1
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// The founder could not be asked (not up yet, say): worth another try.
    struct Unreachable: Error, CustomStringConvertible {
        let description: String
    }

    private func join(_ configuration: StowageConfiguration) async throws -> String {
        guard let address = ClusterNodeRuntime.socketAddress(founder) else {
            throw Refused(description: "cluster.seedNodes: '\(founder)' is not host:port")
        }
        let host = configuration.clusterQUICHost ?? "127.0.0.1"
        let nonce = SecureRandom.bytes(32)
        let endpoint = try await QUICEndpoint.introducing(host: host)
        let hello: FormationHelloAnswer
        do {
            hello = try await ask(endpoint, at: address, nonce: nonce)
            try? await endpoint.close()
        } catch {
            try? await endpoint.close()
            throw error
        }
        let fingerprint = try ClusterCertificateAuthority.fingerprint(ofCertificatePEM: hello.caCertificate)
        guard let proof = Hex.decode(hello.proof),
              ConstantTime.equals(proof, founderProof(clusterID: hello.clusterID, caFingerprint: fingerprint, nonce: nonce)) else {
            throw Refused(description: "the node at \(founder) does not prove the formation secret: is cluster.formationSecret the same on every node?")
        }
        let token = JoinToken(clusterID: hello.clusterID, caFingerprint: fingerprint, secret: joinProof(caFingerprint: fingerprint))
        do {
            return try await ClusterAdministration.join(configuration, token: token.encoded, seeds: [founder])
        } catch let error as ClusterAdministration.NoAnswer {
            throw Unreachable(description: error.description)
        }
    }

    private func ask(_ endpoint: QUICEndpoint, at address: SocketAddress, nonce: [UInt8]) async throws -> FormationHelloAnswer {
        let request = ClusterRequest(
            verb: MembershipVerb.formationHello, resource: "cluster", body: MembershipBody.encode(FormationHello(nonce: Hex.encode(nonce), members: members)))
        let response = await ClusterNodeRuntime.withDeadline(.seconds(2)) { () -> Result<ClusterResponse, any Error> in
            do {
                return .success(try await endpoint.send(request, to: NodeID("founder"), at: address))
            } catch {
                return .failure(error)
            }
        }
        switch response {
        case nil:
            throw Unreachable(description: "\(founder) did not answer within 2 s")
        case .failure(let error)?:
            throw Unreachable(description: "\(founder): \(error)")
        case .success(let answer)?:
            guard answer.status == .ok else {
                let refusal = try? await MembershipBody.decode(MembershipRefusal.self, from: answer.body)
                throw Refused(description: "\(founder) refused to form (\(answer.status.code)): \(refusal?.error ?? "no reason given")")
            }
            return try await MembershipBody.decode(FormationHelloAnswer.self, from: answer.body)
        }
    }
}

/// A node forming from seeds asks the founder for its CA, with a fresh nonce.
struct FormationHello: Codable, Sendable {
    var nonce: String
    /// The asker's list of nodes: the founder refuses a list unlike its own (nodes that name
    /// the same node differently would otherwise pick different founders).
    var members: [String]
}

struct FormationHelloAnswer: Codable, Sendable {
    var clusterID: String
    var caCertificate: String
    /// ``SeedFormation/founderProof(caFingerprint:nonce:)``, hex.
    var proof: String
}
