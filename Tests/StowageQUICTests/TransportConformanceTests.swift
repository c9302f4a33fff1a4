import StowageCore
import StowageQUIC
import StowageTransportConformance
import Testing

/// The transport conformance suite on QUIC: real endpoints on 127.0.0.1 (ephemeral UDP ports),
/// certificates from a CA made for each case.
struct QUICFixture: TransportFixture {
    let ca: ClusterCertificateAuthority

    init() throws { ca = try ClusterCertificateAuthority.generate(clusterID: "conformance") }

    func node(_ id: String, handler: any ClusterRequestHandler) async throws -> any ClusterTransport {
        try await QUICTransport.start(host: "127.0.0.1", port: 0, credentials: try ca.issue(nodeID: id), handler: handler)
    }

    func introduce(_ nodes: [any ClusterTransport]) async throws {
        let quic = nodes.compactMap { $0 as? QUICTransport }
        for node in quic { for other in quic { node.setPeer(other.local, at: other.endpoint.localAddress) } }
    }

    func stop(_ node: any ClusterTransport) async throws { try await (node as? QUICTransport)?.close() }
}

@Suite(.timeLimit(.minutes(1)))
struct QUICTransportConformanceTests {
    @Test(arguments: TransportConformanceSuite.cases)
    func conformance(_ check: TransportConformanceCase) async throws {
        try await check.run(try QUICFixture())
    }
}
