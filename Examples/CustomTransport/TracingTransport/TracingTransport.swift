import HTTPTypes
public import StowageCore
import Stowage
import Synchronization

/// A cluster transport of your own: this one wraps another transport and keeps a trace of every
/// request (who, what, and how it ended), for debugging a cluster or asserting on its traffic
/// in tests. Any `ClusterTransport` plugs in the same way: register a factory by name, and the
/// cluster backend makes the one its configuration names.
///
/// ```swift
/// var registry = PluginRegistry.withTracingTransport(trace: trace)
/// let transport = try environment.makeTransport("traced", local: NodeID("node-1"), handler: node)
/// ```
public struct TracingTransport: ClusterTransport {
    public let wrapped: any ClusterTransport
    public let trace: Trace

    public init(wrapping wrapped: any ClusterTransport, trace: Trace) {
        self.wrapped = wrapped
        self.trace = trace
    }

    public var local: NodeID { wrapped.local }

    public func send(_ request: ClusterRequest, to node: NodeID) async throws -> ClusterResponse {
        do {
            let response = try await wrapped.send(request, to: node)
            trace.record(.init(from: local, to: node, verb: request.verb, outcome: "\(response.status.code)"))
            return response
        } catch let error as ClusterTransportError {
            // The distinction a protocol acts on, kept in the trace.
            let outcome = switch error {
            case .notDelivered: "not delivered"
            case .outcomeUnknown: "outcome unknown"
            }
            trace.record(.init(from: local, to: node, verb: request.verb, outcome: outcome))
            throw error
        }
    }

    /// Every request sent through the transports that share it, in the order they ended.
    public final class Trace: Sendable {
        public struct Entry: Sendable, Hashable, CustomStringConvertible {
            public var from: NodeID
            public var to: NodeID
            public var verb: String
            public var outcome: String
            public var description: String { "\(from) → \(to) \(verb): \(outcome)" }
        }

        private let entries = Mutex<[Entry]>([])
        public init() {}
        func record(_ entry: Entry) { entries.withLock { $0.append(entry) } }
        public var all: [Entry] { entries.withLock { $0 } }
    }
}

extension PluginRegistry {
    /// The built-in plugins plus a `traced` transport: the built-in `inprocess` transport with
    /// every request recorded in `trace`.
    public static func withTracingTransport(trace: TracingTransport.Trace) -> PluginRegistry {
        var registry = PluginRegistry.builtIn
        registry.registerTransport("traced") { environment in
            let inner = try environment.plugin.makeTransport("inprocess", local: environment.local, handler: environment.handler)
            return TracingTransport(wrapping: inner, trace: trace)
        }
        return registry
    }
}
