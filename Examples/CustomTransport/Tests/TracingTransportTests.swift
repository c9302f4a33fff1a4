import HTTPTypes
import Logging
import NIOCore
import Stowage
import StowageCore
import Testing
import TracingTransport

/// Answers `echo` with the request's body, anything else with 404.
private struct EchoNode: ClusterRequestHandler {
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        guard request.verb == "echo" else { return ClusterResponse(status: .notFound) }
        return ClusterResponse(status: .ok, body: request.body)
    }
}

@Suite("Example: a cluster transport of your own, chosen by name")
struct TracingTransportTests {
    @Test func madeThroughThePluginEnvironmentAndTraced() async throws {
        let trace = TracingTransport.Trace()
        let registry = PluginRegistry.withTracingTransport(trace: trace)
        // One environment, as one process's nodes share it: they reach each other in process.
        let environment = try registry.environment(StowageConfiguration(), logger: Logger(label: "test"))
        let one = try environment.makeTransport("traced", local: NodeID("node-1"), handler: EchoNode())
        _ = try environment.makeTransport("traced", local: NodeID("node-2"), handler: EchoNode())

        let response = try await one.send(ClusterRequest(verb: "echo", resource: "r", body: S3Body(ByteBuffer(string: "hello"))), to: NodeID("node-2"))
        var body = try await response.body.collect(upTo: 100, orThrow: S3Error(.internalError))
        #expect(body.readString(length: body.readableBytes) == "hello")
        _ = try await one.send(ClusterRequest(verb: "other", resource: "r"), to: NodeID("node-2"))
        await #expect(throws: ClusterTransportError.self) {
            _ = try await one.send(ClusterRequest(verb: "echo", resource: "r"), to: NodeID("node-9"))
        }
        #expect(trace.all.map(\.description) == [
            "node-1 → node-2 echo: 200", "node-1 → node-2 other: 404", "node-1 → node-9 echo: not delivered",
        ])
    }

    @Test func anUnknownTransportNameIsAConfigurationError() throws {
        let environment = try PluginRegistry.builtIn.environment(StowageConfiguration(), logger: Logger(label: "test"))
        #expect { try environment.makeTransport("carrier-pigeon", local: NodeID("a"), handler: EchoNode()) } throws: {
            ($0 as? ConfigurationError)?.reason.contains("inprocess") == true
        }
    }
}
