import Foundation
import HTTPTypes
import Synchronization
import Logging
import NIOCore
@testable import Stowage
import StowageCluster
import StowageCore
import StowageQUIC
import Testing

/// The node that holds the cluster CA admitting joiners (CLUSTER.md §9): tokens used once,
/// expiry, the same node asking again after a lost answer, and what a refusal leaves.
@Suite struct JoinAdmissionTests {
    final class Clock: Sendable {
        let now = Mutex<UInt64>(1_000_000)
    }

    final class Admitted: Sendable {
        let epochs = Mutex<[Int]>([])
    }

    /// The map register's compare-and-set over one value in memory (the register itself is
    /// tested in StowageClusterTests; here, what the admission asks of it).
    final class MapStandIn: Sendable {
        let map: Mutex<ClusterMap>
        init(_ map: ClusterMap) { self.map = Mutex(map) }

        func change(_ change: (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap?) throws -> ClusterMap {
            try map.withLock { map in
                do {
                    if let next = try change(map) { map = next }
                    return map
                } catch {
                    throw ClusterMapRegister.Failure.refused("\(error)")
                }
            }
        }
    }

    struct Fixture {
        let state: NodeStateDirectory
        let admission: JoinAdmission
        let clock: Clock
        let admitted: Admitted
        let directory: URL

        /// `holder`: the node whose state this is (a copy of the CA on a member other than
        /// node-a, the founder); `register`: the map register its changes go through once
        /// `map` has a pool.
        init(holder: String = "node-a", map: ClusterMap? = nil, register: MapStandIn? = nil) throws {
            directory = FileManager.default.temporaryDirectory.appending(path: "stowage-join-\(UUID().uuidString)")
            state = NodeStateDirectory(path: directory.path)
            let authority = try ClusterCertificateAuthority.generate(clusterID: "c-join")
            try state.writeAuthority(authority)
            try authority.issue(nodeID: holder).write(to: state.tlsDirectory)
            try state.writeMap(map ?? Self.founded)
            let clock = Clock(), admitted = Admitted()
            self.clock = clock
            self.admitted = admitted
            admission = JoinAdmission(
                state: state, logger: Logger(label: "test"), clock: { clock.now.withLock { $0 } },
                changeMap: { change in
                    guard let register else { throw ClusterMapRegister.Failure.unavailable("no register here") }
                    return try register.change(change)
                }
            ) { map in
                admitted.epochs.withLock { $0.append(map.epoch) }
            }
        }

        static let founded = ClusterMap.founding(
            clusterID: "c-join", node: .init(id: "node-a", address: "127.0.0.1:4001", drives: ["/a/1", "/a/2"]),
            dataShards: 4, parityShards: 2, chunkSize: 1 << 20)

        func token(ttlMs: UInt64 = 60_000) throws -> JoinToken {
            let (token, issued) = JoinToken.make(clusterID: "c-join", caFingerprint: "00", ttlMs: ttlMs, nowMs: clock.now.withLock { $0 })
            try state.writeTokens(try state.readTokens() + [.init(issued: issued, admitted: nil)])
            return token
        }

        func ask(_ secret: [UInt8], node: String = "node-b", address: String = "127.0.0.1:4002") async throws -> (Int, String) {
            let request = JoinRequest(secret: StowageCore.Hex.encode(secret), node: .init(id: node, address: address, drives: ["/b/1", "/b/2"]))
            let response = try await admission.handle(
                ClusterRequest(verb: MembershipVerb.join, resource: "cluster", body: MembershipBody.encode(request)), from: NodeID(""))
            var body = ByteBuffer()
            for try await var chunk in response.body { body.writeBuffer(&chunk) }
            return (response.status.code, String(buffer: body))
        }

        func cleanUp() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func aTokenAdmitsOneNodeOnceAndTheMapGrows() async throws {
        let f = try Fixture()
        defer { f.cleanUp() }
        let token = try f.token()
        let (status, body) = try await f.ask(token.secret)
        #expect(status == 200)
        let answer = try JSONDecoder().decode(JoinAnswer.self, from: Data(body.utf8))
        #expect(answer.map.member("node-b")?.pool == nil && answer.map.epoch == 2)
        #expect(try f.state.readMap() == answer.map)
        #expect(f.admitted.epochs.withLock { $0 } == [2])
        // Another node with the same token: refused, and the map is untouched.
        let (again, _) = try await f.ask(token.secret, node: "node-c", address: "127.0.0.1:4003")
        #expect(again == 403)
        #expect(try f.state.readMap().epoch == 2)
    }

    /// The joiner's answer was lost: the same node asking again with the same token gets a
    /// certificate again and the same place, not a second member.
    @Test func theSameNodeAskingAgainGetsTheSameMembership() async throws {
        let f = try Fixture()
        defer { f.cleanUp() }
        let token = try f.token()
        #expect(try await f.ask(token.secret).0 == 200)
        let (status, body) = try await f.ask(token.secret)
        #expect(status == 200)
        let answer = try JSONDecoder().decode(JoinAnswer.self, from: Data(body.utf8))
        #expect(answer.map.members.map(\.id) == ["node-a", "node-b"] && answer.map.epoch == 2)
        // The same name at another address is not the same node.
        #expect(try await f.ask(token.secret, address: "127.0.0.1:4999").0 == 403)
    }

    @Test func wrongAndExpiredSecretsAreRefusedAndChangeNothing() async throws {
        let f = try Fixture()
        defer { f.cleanUp() }
        let token = try f.token(ttlMs: 1_000)
        let before = try Data(contentsOf: f.state.tokensFile)
        #expect(try await f.ask(Array(repeating: 7, count: 32)).0 == 403)
        #expect(try Data(contentsOf: f.state.tokensFile) == before)
        #expect(f.state.hasUnexpiredToken(nowMs: f.clock.now.withLock { $0 }))
        f.clock.now.withLock { $0 += 2_000 }
        #expect(!f.state.hasUnexpiredToken(nowMs: f.clock.now.withLock { $0 }))
        #expect(try await f.ask(token.secret).0 == 403)
        #expect(try f.state.readTokens().isEmpty)
        #expect(try f.state.readMap().members.count == 1)
        #expect(f.admitted.epochs.withLock { $0 }.isEmpty)
    }

    @Test func onlyJoinIsAnsweredAndNameClashesAreRefused() async throws {
        let f = try Fixture()
        defer { f.cleanUp() }
        let response = try await f.admission.handle(ClusterRequest(verb: "read", resource: "drive/x"), from: NodeID(""))
        #expect(response.status.code == 403)
        let token = try f.token()
        let (status, body) = try await f.ask(token.secret, node: "node-a", address: "127.0.0.1:4010")
        #expect(status == 409 && body.contains("already a member"))
        // The refusal used the token up.
        #expect(try await f.ask(token.secret, node: "node-z", address: "127.0.0.1:4011").0 == 403)
    }

    /// Once pool 0 has formed, a join changes the map through its register, not the file; a
    /// member holding a copy of the CA admits too, but only then.
    @Test func afterTheFirstPoolJoinsGoThroughTheRegisterOnAnyHolderOfTheCA() async throws {
        var formed = Fixture.founded
        try formed.admit(.init(id: "node-b", address: "127.0.0.1:4002", drives: ["/b/1", "/b/2"]))
        try formed.admit(.init(id: "node-c", address: "127.0.0.1:4003", drives: ["/c/1", "/c/2"]))
        try formed.formPool()
        let register = MapStandIn(formed)
        let f = try Fixture(holder: "node-b", map: formed, register: register)
        defer { f.cleanUp() }
        let token = try f.token()
        let (status, body) = try await f.ask(token.secret, node: "node-d", address: "127.0.0.1:4004")
        #expect(status == 200)
        let answer = try JSONDecoder().decode(JoinAnswer.self, from: Data(body.utf8))
        #expect(answer.map == register.map.withLock { $0 })
        #expect(answer.map.member("node-d")?.index == 3 && answer.map.epoch == formed.epoch + 1)
        // Asked again (its answer lost): the same place, no second change.
        #expect(try await f.ask(token.secret, node: "node-d", address: "127.0.0.1:4004").0 == 200)
        #expect(register.map.withLock { $0 }.epoch == formed.epoch + 1)
        // Without a register to change, nothing changes and the token stays the node's.
        let g = try Fixture(holder: "node-b", map: formed, register: nil)
        defer { g.cleanUp() }
        let other = try g.token()
        #expect(try await g.ask(other.secret, node: "node-e", address: "127.0.0.1:4005").0 == 503)
        #expect(try g.state.readMap() == formed)
    }

    @Test func aCopyOfTheCAAdmitsNobodyBeforeTheFirstPool() async throws {
        var spares = Fixture.founded
        try spares.admit(.init(id: "node-b", address: "127.0.0.1:4002", drives: ["/b/1", "/b/2"]))
        let f = try Fixture(holder: "node-b", map: spares)
        defer { f.cleanUp() }
        let token = try f.token()
        let (status, body) = try await f.ask(token.secret, node: "node-d", address: "127.0.0.1:4004")
        #expect(status == 503 && body.contains("the node that formed the cluster"))
        #expect(try f.state.readMap() == spares)
        #expect(try f.state.readTokens().count == 1 && f.state.readTokens()[0].admitted == nil)
    }
}
