public import StowageCore
import NIOCore
import Synchronization

/// A whole cluster's network inside one process: the hub every ``InProcessTransport`` sends
/// through. Tests run several nodes on it without sockets; the deterministic simulator runs
/// whole clusters on it and breaks it on purpose: nodes crash and restart (``detach(_:)``,
/// ``attach(_:handler:)``), links fail symmetrically or one way (``partition(_:)``,
/// ``block(from:to:)``), and a seeded ``FaultPlan`` drops, duplicates and delays requests.
///
/// Delivery calls the receiver's handler in the sender's task, so the response body streams
/// straight from the handler to the sender, with the same backpressure, and cancelling the
/// sender cancels the handler, as a lost connection would.
///
/// ```swift
/// let network = InProcessNetwork(faults: FaultPlan(seed: 7, dropReply: 0.05))
/// let one = network.attach(NodeID("node-1"), handler: nodeOne)
/// _ = network.attach(NodeID("node-2"), handler: nodeTwo)
/// network.partition([[NodeID("node-1")], [NodeID("node-2")]])
/// // one.send(request, to: NodeID("node-2")) now throws .notDelivered
/// network.heal()
/// let response = try await one.send(request, to: NodeID("node-2"))
/// ```
public final class InProcessNetwork: Sendable {
    /// Waits out a delay. Injected so that the simulator can drive delays from a virtual clock
    /// and tests never really sleep.
    public typealias Sleeper = @Sendable (Duration) async throws -> Void

    /// What the network did, for tests and for the simulator's reports, so they can check that
    /// a run really exercised the faults it meant to. A send counts in one of `refused`,
    /// `droppedRequests` or `delivered` (the handler ran), and a delivered one possibly in
    /// `droppedReplies` or `lostReplies` too; `delayed` and `duplicated` count in addition. (A
    /// send cancelled during its delay, or whose body fails while buffered for duplication,
    /// counts in none.)
    public struct Statistics: Sendable, Hashable {
        /// Requests handed to a handler (duplicates not counted again).
        public var delivered = 0
        /// Requests the fault plan dropped before delivery.
        public var droppedRequests = 0
        /// Replies the fault plan dropped after the handler ran.
        public var droppedReplies = 0
        /// Replies lost because the link back was cut while the handler ran.
        public var lostReplies = 0
        /// Requests the handler received a second time.
        public var duplicated = 0
        /// Requests that waited before delivery.
        public var delayed = 0
        /// Requests refused by the topology: detached node, partition or block.
        public var refused = 0

        /// All zero, as a fresh network's; public so tests can build the counters they expect.
        public init() {}
    }

    private let state: Mutex<NetworkState>
    private let sleeper: Sleeper

    /// A network with no nodes yet, misbehaving as `faults` says. `sleeper` waits out delays;
    /// the default really sleeps.
    public init(faults: FaultPlan = .none, sleeper: @escaping Sleeper = { try await Task.sleep(for: $0) }) {
        state = Mutex(NetworkState(faults: faults))
        self.sleeper = sleeper
    }

    /// The fault plan in force. Changing it mid-run keeps each link's sequence numbers, so a
    /// seeded run that changes plans at the same points still replays.
    public var faults: FaultPlan {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    /// Counters since the network was created.
    public var statistics: Statistics {
        state.withLock { $0.statistics }
    }

    /// Connects `node`, whose incoming requests `handler` answers, and returns the transport it
    /// sends with. Attaching a node again replaces its handler, as a restarted process would:
    /// requests arriving from then on reach the new handler; the old transport keeps working
    /// (it names the same node).
    public func attach(_ node: NodeID, handler: any ClusterRequestHandler) -> InProcessTransport {
        state.withLock { $0.handlers[node] = handler }
        return InProcessTransport(local: node, network: self)
    }

    /// Disconnects `node`, as a crash would: requests to it and from it are `notDelivered`
    /// from now on. Requests its handler is already serving still complete and answer.
    public func detach(_ node: NodeID) {
        _ = state.withLock { $0.handlers.removeValue(forKey: node) }
    }

    /// Splits the network: nodes in different groups cannot reach each other, in either
    /// direction. Nodes named in no group form one more group together. Replaces any earlier
    /// partition; blocks stay. Requests already delivered across the new cut lose their reply
    /// (`outcomeUnknown`).
    public func partition(_ groups: [Set<NodeID>]) {
        var assignment: [NodeID: Int] = [:]
        for (index, group) in groups.enumerated() {
            for node in group {
                let previous = assignment.updateValue(index, forKey: node)
                precondition(previous == nil, "\(node) is named in two partition groups")
            }
        }
        let finished = assignment
        state.withLock { $0.groups = finished }
    }

    /// Cuts one direction: packets from `from` no longer reach `to`. So `from`'s requests to
    /// `to` are not delivered, while `to`'s requests to `from` are delivered and handled but
    /// their replies are lost (`outcomeUnknown`), as with a real one-way link failure.
    public func block(from: NodeID, to: NodeID) {
        _ = state.withLock { $0.blocked.insert(Link(from: from, to: to)) }
    }

    /// Removes every partition and block. Detached nodes stay detached.
    public func heal() {
        state.withLock { state in
            state.groups = nil
            state.blocked.removeAll()
        }
    }

    /// One request's journey: admission (topology and the plan), an optional delay, arrival
    /// (topology again), the handler, an optional duplicate, and the way back.
    func deliver(_ request: ClusterRequest, from sender: NodeID, to receiver: NodeID) async throws -> ClusterResponse {
        let bodyLength = request.body.declaredLength
        let decision = try state.withLock { $0.admit(from: sender, to: receiver, bodyLength: bodyLength) }.get()

        if let delay = decision.delay {
            do {
                try await sleeper(delay)
            } catch {
                throw ClusterTransportError.notDelivered(receiver, reason: "cancelled while the request was delayed: \(error)")
            }
        }

        var request = request
        var replay: ClusterRequest?
        if decision.duplicate, let length = bodyLength {
            let buffer: ByteBuffer
            do {
                let tooLong = S3Error(.internalError, message: "The request body is longer than its declared length.")
                buffer = try await request.body.collect(upTo: Int(length), orThrow: tooLong)
            } catch {
                throw ClusterTransportError.notDelivered(receiver, reason: "the request body could not be read: \(error)")
            }
            request.body = S3Body(buffer)
            replay = request
        }

        let duplicated = replay != nil
        let handler = try state.withLock { $0.arrive(from: sender, to: receiver, duplicated: duplicated) }.get()

        if let replay {
            // The copy arrives first and its answer goes nowhere. (Delivered after the original,
            // it would wait for the original's streamed answer, which the sender reads only once
            // this returns: a handler holding a lock until its answer is read would deadlock.)
            if let echo = try? await handler.handle(replay, from: sender) { await Self.drain(echo.body) }
        }
        let outcome: Result<ClusterResponse, any Error>
        do {
            outcome = .success(try await handler.handle(request, from: sender))
        } catch {
            outcome = .failure(error)
        }

        let dropReply = decision.dropReply
        if let lost = state.withLock({ $0.reply(from: receiver, to: sender, dropped: dropReply) }) {
            if case .success(let response) = outcome { await Self.drain(response.body) }
            throw ClusterTransportError.outcomeUnknown(receiver, reason: lost)
        }
        switch outcome {
        case .success(var response):
            // A body that fails part way is a reply cut off: the request may have been applied.
            response.body = S3Body(stream: OutcomeUnknownOnFailure(base: response.body, peer: receiver), length: response.body.declaredLength)
            return response
        case .failure(let error):
            throw ClusterTransportError.outcomeUnknown(receiver, reason: "the handler failed: \(error)")
        }
    }

    /// Reads a discarded body to its end, so that whatever produces it finishes rather than
    /// waiting for a reader that never comes.
    private static func drain(_ body: S3Body) async {
        do {
            for try await _ in body {}
        } catch {
            // A discarded body's failure has no one to report to.
        }
    }
}

