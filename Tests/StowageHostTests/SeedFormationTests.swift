import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
@testable import Stowage
import StowageCluster
import StowageCore
import StowageQUIC
import Testing

/// Forming a cluster from seeds and a shared secret (CLUSTER.md §1, §9): who founds, what the
/// founder proves, whom the secret admits, and the pool forming once every listed node joined.
@Suite struct SeedFormationTests {
    static let secret = Array("0123456789abcdef0123456789abcdef-shared".utf8)
    static let seeds = ["127.0.0.1:4003", "127.0.0.1:4001", "127.0.0.1:4002"]

    @Test func theLowestAddressFoundsWhateverTheListsOrder() {
        let a = SeedFormation(seeds: ["127.0.0.1:4002", "127.0.0.1:4003"], local: "127.0.0.1:4001", secret: Self.secret)
        let b = SeedFormation(seeds: Self.seeds, local: "127.0.0.1:4002", secret: Self.secret)
        let c = SeedFormation(seeds: [" 127.0.0.1:4001", "127.0.0.1:4002 "], local: "127.0.0.1:4003", secret: Self.secret)
        #expect(a.members == b.members && b.members == c.members)
        #expect(a.members == ["127.0.0.1:4001", "127.0.0.1:4002", "127.0.0.1:4003"])
        #expect(a.isFounder && !b.isFounder && !c.isFounder)
    }

    @Test func proofsNeedTheSecretAndAreBoundToTheCAAndTheNonce() {
        let f = SeedFormation(seeds: Self.seeds, local: "127.0.0.1:4001", secret: Self.secret)
        let other = SeedFormation(seeds: Self.seeds, local: "127.0.0.1:4001", secret: Array("another secret of at least 32 chars".utf8))
        let nonce = [UInt8](repeating: 7, count: 32)
        let proof = f.founderProof(clusterID: "c", caFingerprint: "aa", nonce: nonce)
        #expect(proof != other.founderProof(clusterID: "c", caFingerprint: "aa", nonce: nonce))
        #expect(proof != f.founderProof(clusterID: "c", caFingerprint: "bb", nonce: nonce))
        #expect(proof != f.founderProof(clusterID: "d", caFingerprint: "aa", nonce: nonce))
        #expect(proof != f.founderProof(clusterID: "c", caFingerprint: "aa", nonce: [UInt8](repeating: 8, count: 32)))
        // Another list of nodes, another proof.
        let fewer = SeedFormation(seeds: ["127.0.0.1:4002"], local: "127.0.0.1:4001", secret: Self.secret)
        #expect(proof != fewer.founderProof(clusterID: "c", caFingerprint: "aa", nonce: nonce))
        #expect(f.joinProof(caFingerprint: "aa") != f.joinProof(caFingerprint: "bb"))
        #expect(f.joinProof(caFingerprint: "aa").count == 32)
    }

    final class Heard: Sendable {
        let nodes = Mutex<Set<String>>([])
    }

    struct Founder {
        let state: NodeStateDirectory
        let admission: JoinAdmission
        let heard = Heard()
        let formation: SeedFormation
        let fingerprint: String
        let directory: URL

        init() throws {
            directory = FileManager.default.temporaryDirectory.appending(path: "stowage-seeds-\(UUID().uuidString)")
            state = NodeStateDirectory(path: directory.path)
            let authority = try ClusterCertificateAuthority.generate(clusterID: "c-seeds")
            fingerprint = try authority.fingerprint()
            try state.writeAuthority(authority)
            try authority.issue(nodeID: "node-a").write(to: state.tlsDirectory)
            try state.writeMap(ClusterMap.founding(
                clusterID: "c-seeds", node: .init(id: "node-a", address: "127.0.0.1:4001", drives: ["/a/1", "/a/2"]),
                dataShards: 4, parityShards: 2, chunkSize: 1 << 20))
            formation = SeedFormation(seeds: SeedFormationTests.seeds, local: "127.0.0.1:4001", secret: SeedFormationTests.secret)
            let heard = self.heard
            admission = JoinAdmission(
                state: state, logger: Logger(label: "test"), clock: { 1_000 }, formation: formation,
                heardFrom: { id in heard.nodes.withLock { $0.contains(id) } }) { _ in }
        }

        func call(_ verb: String, _ body: S3Body) async throws -> (Int, String) {
            let response = try await admission.handle(ClusterRequest(verb: verb, resource: "cluster", body: body), from: NodeID(""))
            var collected = ByteBuffer()
            for try await var chunk in response.body { collected.writeBuffer(&chunk) }
            return (response.status.code, String(buffer: collected))
        }

        func join(_ node: String, address: String, proof: [UInt8]) async throws -> (Int, String) {
            let request = JoinRequest(secret: StowageCore.Hex.encode(proof), node: .init(id: node, address: address, drives: ["/\(node)/1", "/\(node)/2"]))
            return try await call(MembershipVerb.join, MembershipBody.encode(request))
        }

        func cleanUp() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func theFounderAnswersAHelloWithItsCAAndAProofOfTheSecret() async throws {
        let f = try Founder()
        defer { f.cleanUp() }
        let nonce = SecureRandom.bytes(32)
        let (status, body) = try await f.call(
            MembershipVerb.formationHello, MembershipBody.encode(FormationHello(nonce: Hex.encode(nonce), members: f.formation.members)))
        #expect(status == 200)
        let answer = try JSONDecoder().decode(FormationHelloAnswer.self, from: Data(body.utf8))
        #expect(answer.clusterID == "c-seeds")
        #expect(try ClusterCertificateAuthority.fingerprint(ofCertificatePEM: answer.caCertificate) == f.fingerprint)
        #expect(Hex.decode(answer.proof) == f.formation.founderProof(clusterID: "c-seeds", caFingerprint: f.fingerprint, nonce: nonce))
        // A short nonce is refused (a fresh 32 bytes keeps answers from being replayed).
        let (short, _) = try await f.call(
            MembershipVerb.formationHello, MembershipBody.encode(FormationHello(nonce: "00", members: f.formation.members)))
        #expect(short == 400)
        // A list that names the nodes differently: refused, saying so, before any proof.
        let (differs, why) = try await f.call(MembershipVerb.formationHello, MembershipBody.encode(FormationHello(
            nonce: Hex.encode(nonce), members: ["localhost:4001", "127.0.0.1:4002", "127.0.0.1:4003"])))
        #expect(differs == 409 && why.contains("seed lists differ") && !why.contains("proof"))
    }

    @Test func theSecretAdmitsListedNodesAndThePoolFormsWhenAllHaveJoined() async throws {
        let f = try Founder()
        defer { f.cleanUp() }
        let proof = f.formation.joinProof(caFingerprint: f.fingerprint)
        // Wrong proofs: the secret bound to another CA, or another secret.
        #expect(try await f.join("node-b", address: "127.0.0.1:4002", proof: f.formation.joinProof(caFingerprint: "ff")).0 == 403)
        // A node not on the list is refused even with the secret.
        #expect(try await f.join("node-x", address: "127.0.0.1:4999", proof: proof).0 == 403)
        #expect(try f.state.readMap().members.count == 1)

        let (b, _) = try await f.join("node-b", address: "127.0.0.1:4002", proof: proof)
        #expect(b == 200)
        #expect(try f.state.readMap().pools.isEmpty)
        let (c, body) = try await f.join("node-c", address: "127.0.0.1:4003", proof: proof)
        #expect(c == 200)
        let map = try f.state.readMap()
        #expect(map.pools.count == 1 && map.spares.isEmpty && map.members.count == 3)
        #expect(try JSONDecoder().decode(JoinAnswer.self, from: Data(body.utf8)).map == map)

        // Formed: the last node asking again (its answer lost) gets its place again; nobody
        // else joins by the secret.
        #expect(try await f.join("node-c", address: "127.0.0.1:4003", proof: proof).0 == 200)
        #expect(try await f.join("node-d", address: "127.0.0.1:4003", proof: proof).0 == 403)
        #expect(f.admission.formationAnswers())
        // Once the founder has heard from a member over mutual TLS, the secret never issues a
        // certificate in its name again, nor ever in the founder's own.
        f.heard.nodes.withLock { $0.insert("node-c") }
        #expect(try await f.join("node-c", address: "127.0.0.1:4003", proof: proof).0 == 403)
        #expect(try await f.join("node-a", address: "127.0.0.1:4001", proof: proof).0 == 403)
        #expect(try f.state.readMap() == map)
        // Heard from everyone: no more answers to processes without a certificate.
        #expect(f.admission.formationAnswers())
        f.heard.nodes.withLock { $0.insert("node-b") }
        #expect(!f.admission.formationAnswers())
        let (hello, _) = try await f.call(MembershipVerb.formationHello, MembershipBody.encode(FormationHello(
            nonce: Hex.encode(SecureRandom.bytes(32)), members: f.formation.members)))
        #expect(hello == 403)
    }

    @Test func tokensStillWorkBesideAFormation() async throws {
        let f = try Founder()
        defer { f.cleanUp() }
        let (token, issued) = JoinToken.make(clusterID: "c-seeds", caFingerprint: f.fingerprint, ttlMs: 60_000, nowMs: 1_000)
        try f.state.writeTokens([.init(issued: issued, admitted: nil)])
        #expect(try await f.join("node-t", address: "127.0.0.1:4100", proof: token.secret).0 == 200)
        #expect(try f.state.readMap().pools.isEmpty)
    }

    @Test func aNodeWithoutTheSecretGetsNoHello() async throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "stowage-seeds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = NodeStateDirectory(path: directory.path)
        try state.writeAuthority(try ClusterCertificateAuthority.generate(clusterID: "c-plain"))
        try state.writeMap(ClusterMap.founding(
            clusterID: "c-plain", node: .init(id: "node-a", address: "127.0.0.1:4001", drives: ["/a/1"]),
            dataShards: 2, parityShards: 1, chunkSize: 1 << 20))
        let admission = JoinAdmission(state: state, logger: Logger(label: "test"), clock: { 1_000 }) { _ in }
        let response = try await admission.handle(
            ClusterRequest(verb: MembershipVerb.formationHello, resource: "cluster",
                           body: MembershipBody.encode(FormationHello(nonce: Hex.encode(SecureRandom.bytes(32)), members: []))), from: NodeID(""))
        #expect(response.status == .forbidden)
    }
}
