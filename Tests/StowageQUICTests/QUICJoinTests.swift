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

    /// Admitting joiners changes nothing for certificates. A certificate that names our CA as
    /// its issuer but that another key signed (a forger who copied the CA's name) is refused by
    /// the node itself: the outsider trusts our CA, so it is the node's own check that stops
    /// it. A certificate from an unrelated CA is not even offered (its issuer is not one the
    /// node asks for), so its holder is just a process without a certificate: the join handler
    /// at most. Members still reach the node's own handler.
    @Test func membersAndOutsidersAreTreatedAsBefore() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-members")
        let forger = try ClusterCertificateAuthority.generate(clusterID: "c-members")
        let other = try ClusterCertificateAuthority.generate(clusterID: "c-outsiders")
        let calls = Calls()
        let node = try await Self.admitting(ca, calls)
        let member = try await Tests.node("node-b", ca)
        func outsider(_ authority: ClusterCertificateAuthority) async throws -> QUICTransport {
            let leaf = try authority.issue(nodeID: "node-x")
            return try await QUICTransport.start(
                host: "127.0.0.1", port: 0,
                credentials: NodeCredentials(nodeID: "node-x", certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM, caCertificatePEM: ca.certificatePEM),
                handler: Tests.echo)
        }
        let forged = try await outsider(forger), unrelated = try await outsider(other)
        for sender in [member, forged, unrelated] { sender.setPeer(node.local, at: node.endpoint.localAddress) }
        #expect(try await member.send(ClusterRequest(verb: "read", resource: "r"), to: node.local).status == .ok)
        do {
            _ = try await forged.send(ClusterRequest(verb: "read", resource: "r"), to: node.local)
            Issue.record("a forged certificate was admitted")
        } catch is ClusterTransportError {}
        #expect(calls.join.withLock { $0 } == 0)
        _ = try? await unrelated.send(ClusterRequest(verb: "read", resource: "r"), to: node.local)
        #expect(calls.node.withLock { $0 } == 1)
        for transport in [member, forged, unrelated, node] { try await transport.close() }
    }

    /// A node of another cluster that sends our (public) CA certificate in its chain is still
    /// refused by a joiner: its own certificate was not signed by that CA.
    @Test func aJoinerRefusesAChainThatOnlyQuotesTheCA() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-quoted")
        let impostorCA = try ClusterCertificateAuthority.generate(clusterID: "c-quoting")
        let leaf = try impostorCA.issue(nodeID: "node-a")
        let calls = Calls()
        let join = Tests.Handler { _, _ in
            calls.join.withLock { $0 += 1 }
            return ClusterResponse(status: .ok)
        }
        let impostor = try await QUICTransport.start(
            host: "127.0.0.1", port: 0,
            credentials: NodeCredentials(nodeID: "node-a", certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM, caCertificatePEM: ca.certificatePEM),
            handler: Tests.echo, joinHandler: join)
        let joiner = try await QUICEndpoint.joining(pinning: try ca.fingerprint())
        do {
            _ = try await joiner.send(ClusterRequest(verb: "join", resource: "cluster"), to: NodeID("seed"), at: impostor.endpoint.localAddress)
            Issue.record("the joiner trusted a chain that only quoted the CA")
        } catch is ClusterTransportError {}
        #expect(calls.join.withLock { $0 } == 0)
        try await joiner.close()
        try await impostor.close()
    }

    /// With no join token outstanding, a client without a certificate is refused outright.
    @Test func noTokenOutstandingNoAnonymousClient() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-closed")
        let calls = Calls()
        let join = Tests.Handler { _, _ in
            calls.join.withLock { $0 += 1 }
            return ClusterResponse(status: .ok)
        }
        let node = try await QUICTransport.start(
            host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: "node-a"), handler: Tests.echo, joinHandler: join,
            admitsJoiners: { false })
        let joiner = try await QUICEndpoint.joining(pinning: try ca.fingerprint())
        do {
            _ = try await joiner.send(ClusterRequest(verb: "join", resource: "cluster"), to: NodeID("seed"), at: node.endpoint.localAddress)
            Issue.record("a client without a certificate was admitted with no token outstanding")
        } catch is ClusterTransportError {}
        #expect(calls.join.withLock { $0 } == 0)
        try await joiner.close()
        try await node.close()
    }
}

/// NIO closes a datagram socket on a send error it does not count as recoverable; one such
/// send must not take a node off its cluster.
@Suite(.timeLimit(.minutes(1)))
struct QUICSocketErrorTests {
    typealias Tests = QUICTransportTests

    @Test func aSendTheKernelRefusesLeavesTheEndpointServing() async throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-send-error")
        let a = try await Tests.node("node-a", ca), b = try await Tests.node("node-b", ca)
        Tests.introduce(a, b)
        #expect(try await a.send(ClusterRequest(verb: "v", resource: "r"), to: b.local).status == .accepted)
        // The broadcast address without SO_BROADCAST: sendmsg fails with EACCES.
        a.setPeer(NodeID("node-x"), at: try SocketAddress(ipAddress: "255.255.255.255", port: 4000))
        let doomed = Task { try await a.send(ClusterRequest(verb: "v", resource: "r"), to: NodeID("node-x")) }
        try await Task.sleep(for: .milliseconds(300))
        for direction in [(a, b), (b, a)] {
            let response = try await direction.0.send(ClusterRequest(verb: "v", resource: "again", body: S3Body(ByteBuffer(string: "ok"))), to: direction.1.local)
            #expect(String(decoding: try await Tests.read(response.body), as: UTF8.self) == "ok")
        }
        doomed.cancel()
        _ = try? await doomed.value
        try await a.close()
        try await b.close()
    }
}
