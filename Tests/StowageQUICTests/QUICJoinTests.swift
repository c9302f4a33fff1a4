import Foundation
import HTTPTypes
import NIOCore
import StowageCore
@testable import StowageQUIC
import Synchronization
import Testing

/// The way in for a process that joins with a token (CLUSTER.md §9): it has no certificate,
/// only the CA fingerprint the token pins. A node that admits joiners sends their requests to
/// its join handler and nothing else; the joiner trusts only a node whose chain ends in the
/// pinned CA.
@Suite(.timeLimit(.minutes(1)))
struct QUICJoinTests {
    typealias Tests = QUICTransportTests

    final class Calls: Sendable {
        let node = Mutex(0), join = Mutex(0)
    }

    static func admitting(_ ca: ClusterCertificateAuthority, _ calls: Calls) async throws -> QUICTransport {
        let node = Tests.Handler { _, _ in
            calls.node.withLock { $0 += 1 }
            return ClusterResponse(status: .ok)
        }
        let join = Tests.Handler { request, _ in
            calls.join.withLock { $0 += 1 }
            return ClusterResponse(status: .created, body: request.body)
        }
        return try await QUICTransport.start(
            host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: "node-a"), handler: node, joinHandler: join)
    }

    @Test func aJoinerThatPinnedTheCAReachesTheJoinHandlerOnly() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-join")
        let calls = Calls()
        let node = try await Self.admitting(ca, calls)
        let joiner = try await QUICEndpoint.joining(pinning: try ca.fingerprint())
        let response = try await joiner.send(
            ClusterRequest(verb: "join", resource: "cluster", body: S3Body(ByteBuffer(string: "hello"))),
            to: NodeID("seed"), at: node.endpoint.localAddress)
        #expect(response.status == .created)
        #expect(String(decoding: try await Tests.read(response.body), as: UTF8.self) == "hello")
        // Any verb from a process without a certificate goes to the join handler, never to the
        // node's own.
        _ = try await joiner.send(ClusterRequest(verb: "read", resource: "drive/x"), to: NodeID("seed"), at: node.endpoint.localAddress)
        #expect(calls.join.withLock { $0 } == 2)
        #expect(calls.node.withLock { $0 } == 0)
        try await joiner.close()
        try await node.close()
    }

    /// A joiner that reached something other than the cluster it pinned sends nothing there.
    @Test func aJoinerRefusesANodeOfAnotherCluster() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-real")
        let impostor = try ClusterCertificateAuthority.generate(clusterID: "c-impostor")
        let calls = Calls()
        let node = try await Self.admitting(impostor, calls)
        let joiner = try await QUICEndpoint.joining(pinning: try ca.fingerprint())
        do {
            _ = try await joiner.send(ClusterRequest(verb: "join", resource: "cluster"), to: NodeID("seed"), at: node.endpoint.localAddress)
            Issue.record("the joiner talked to a node of another cluster")
        } catch is ClusterTransportError {}
        #expect(calls.join.withLock { $0 } == 0)
        try await joiner.close()
        try await node.close()
    }

    /// Admitting joiners changes nothing for certificates: one from another CA is still
    /// refused, and cluster members still reach the node's own handler.
    @Test func membersAndOutsidersAreTreatedAsBefore() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-members")
        let other = try ClusterCertificateAuthority.generate(clusterID: "c-outsiders")
        let calls = Calls()
        let node = try await Self.admitting(ca, calls)
        let member = try await Tests.node("node-b", ca)
        let outsider = try await Tests.node("node-x", other)
        for sender in [member, outsider] { sender.setPeer(node.local, at: node.endpoint.localAddress) }
        #expect(try await member.send(ClusterRequest(verb: "read", resource: "r"), to: node.local).status == .ok)
        do {
            _ = try await outsider.send(ClusterRequest(verb: "read", resource: "r"), to: node.local)
            Issue.record("a certificate from another cluster was admitted")
        } catch is ClusterTransportError {}
        #expect(calls.node.withLock { $0 } == 1)
        #expect(calls.join.withLock { $0 } == 0)
        for transport in [member, outsider, node] { try await transport.close() }
    }
}
