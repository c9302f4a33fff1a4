import StowageCore
import StowageInProcessTransport
import StowageTransportConformance
import Testing

/// The transport conformance suite on the in-process transport: each case on a network of its own.
struct InProcessFixture: TransportFixture {
    let network = InProcessNetwork()

    func node(_ id: String, handler: any ClusterRequestHandler) async throws -> any ClusterTransport {
        network.attach(NodeID(id), handler: handler)
    }

    func introduce(_ nodes: [any ClusterTransport]) async throws {}

    func stop(_ node: any ClusterTransport) async throws { network.detach(node.local) }
}

@Suite(.timeLimit(.minutes(1)))
struct InProcessTransportConformanceTests {
    @Test(arguments: TransportConformanceSuite.cases)
    func conformance(_ check: TransportConformanceCase) async throws {
        try await check.run(InProcessFixture())
    }
}
