import HTTPTypes
import NIOCore
import StowageCore
import StowageInProcessTransport
import Testing

@Suite("In-process transport")
struct InProcessTransportTests {
    // MARK: Delivery

    @Test("delivers to the target's handler and streams the response body back")
    func delivery() async throws {
        let network = InProcessNetwork()
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls))
        #expect(a.local == nodeA)

        let payload = bytes(10)
        let request = ClusterRequest(
            verb: "accept", resource: "drive/d1/obj/b/k", fields: [ClusterRequest.epoch: "7"],
            body: S3Body(stream: Chunks(bytes: payload, size: 4), length: Int64(payload.count))
        )
        let response = try await a.send(request, to: nodeB)
        #expect(response.status == .ok)
        #expect(response.fields[ClusterRequest.epoch] == "9")
        var chunks: [[UInt8]] = []
        for try await chunk in response.body { chunks.append(Array(chunk.readableBytesView)) }
        #expect(chunks.count == 4)
        #expect(Array(chunks.joined()) == payload)
        #expect(calls.all == [Call(node: nodeB, sender: nodeA, verb: "accept", body: payload, epoch: "7")])
        #expect(network.statistics.delivered == 1)
    }

    @Test("a node may send to itself")
    func sendToSelf() async {
        let network = InProcessNetwork()
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        network.partition([[nodeA], [nodeB]])
        #expect(await exchange(a, to: nodeA) == .delivered(.ok))
        #expect(calls.all.count == 1)
    }

    @Test("an unknown node is not delivered to")
    func unknownNode() async {
        let network = InProcessNetwork()
        let a = network.attach(nodeA, handler: recording(nodeA, into: Log()))
        #expect(await exchange(a, to: nodeC) == .notDelivered(nodeC))
        #expect(network.statistics.refused == 1)
        #expect(network.statistics.delivered == 0)
    }

    @Test("a handler that throws leaves the outcome unknown")
    func handlerThrows() async {
        let network = InProcessNetwork()
        let a = network.attach(nodeA, handler: recording(nodeA, into: Log()))
        _ = network.attach(nodeB, handler: Handler { _, _ in throw Boom() })
        #expect(await exchange(a, to: nodeB) == .outcomeUnknown(nodeB))
        #expect(network.statistics.delivered == 1)
    }

    @Test("a detached node is unreachable and sends nothing; attaching again replaces its handler")
    func detachAndRestart() async {
        let network = InProcessNetwork()
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        let b = network.attach(nodeB, handler: recording(nodeB, into: calls))

        network.detach(nodeB)
        #expect(await exchange(a, to: nodeB) == .notDelivered(nodeB))
        #expect(await exchange(b, to: nodeA) == .notDelivered(nodeA))
        #expect(calls.all.isEmpty)

        _ = network.attach(nodeB, handler: Handler { _, _ in ClusterResponse(status: .accepted) })
        #expect(await exchange(a, to: nodeB) == .delivered(.accepted))
        #expect(await exchange(b, to: nodeA) == .delivered(.ok))
        #expect(network.statistics.refused == 2)
    }

    // MARK: Partitions

    @Test("a partition cuts both directions between groups, not within one, until healed")
    func symmetricPartition() async {
        let network = InProcessNetwork()
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        let b = network.attach(nodeB, handler: recording(nodeB, into: calls))
        _ = network.attach(nodeC, handler: recording(nodeC, into: calls))

        network.partition([[nodeA], [nodeB, nodeC]])
        #expect(await exchange(a, to: nodeB) == .notDelivered(nodeB))
        #expect(await exchange(b, to: nodeA) == .notDelivered(nodeA))
        #expect(await exchange(b, to: nodeC) == .delivered(.ok))
        #expect(calls.all.map(\.node) == [nodeC])

        network.heal()
        #expect(await exchange(a, to: nodeB) == .delivered(.ok))
        #expect(await exchange(b, to: nodeA) == .delivered(.ok))
        #expect(network.statistics.refused == 2)
    }

    @Test("nodes named in no group are cut off from the named groups")
    func unnamedNodesFormAGroup() async {
        let network = InProcessNetwork()
        let a = network.attach(nodeA, handler: recording(nodeA, into: Log()))
        let b = network.attach(nodeB, handler: recording(nodeB, into: Log()))
        _ = network.attach(nodeC, handler: recording(nodeC, into: Log()))
        network.partition([[nodeA]])
        #expect(await exchange(a, to: nodeB) == .notDelivered(nodeB))
        #expect(await exchange(b, to: nodeC) == .delivered(.ok))
    }

    @Test("a block cuts one direction: requests are refused one way, replies lost the other way")
    func asymmetricBlock() async {
        let network = InProcessNetwork()
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        let b = network.attach(nodeB, handler: recording(nodeB, into: calls))

        network.block(from: nodeA, to: nodeB)
        #expect(await exchange(a, to: nodeB) == .notDelivered(nodeB))
        #expect(calls.all.isEmpty)
        // B's request reaches A, but A's reply travels the blocked direction.
        #expect(await exchange(b, to: nodeA) == .outcomeUnknown(nodeA))
        #expect(calls.all.map(\.node) == [nodeA])
        #expect(network.statistics.lostReplies == 1)

        network.heal()
        #expect(await exchange(a, to: nodeB) == .delivered(.ok))
        #expect(await exchange(b, to: nodeA) == .delivered(.ok))
    }

    @Test("a partition that starts while the handler runs loses the reply")
    func partitionAfterDelivery() async {
        let network = InProcessNetwork()
        let handled = Log<String>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: Log()))
        _ = network.attach(nodeB, handler: Handler { [network] _, _ in
            handled.append("handled")
            network.partition([[nodeA], [nodeB]])
            return ClusterResponse()
        })
        #expect(await exchange(a, to: nodeB) == .outcomeUnknown(nodeB))
        #expect(handled.all == ["handled"])
        #expect(network.statistics.lostReplies == 1)
    }

    // MARK: Faults

    @Test("dropRequest = 1 never calls the handler")
    func dropRequest() async {
        let network = InProcessNetwork(faults: FaultPlan(seed: 1, dropRequest: 1))
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls))
        for _ in 0..<5 {
            #expect(await exchange(a, to: nodeB) == .notDelivered(nodeB))
        }
        #expect(calls.all.isEmpty)
        #expect(network.statistics.droppedRequests == 5)
        #expect(network.statistics.delivered == 0)
    }

    @Test("dropReply = 1 runs the handler once, drains its reply and leaves the outcome unknown")
    func dropReply() async {
        let network = InProcessNetwork(faults: FaultPlan(seed: 1, dropReply: 1))
        let calls = Log<Call>()
        let drained = Log<String>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls, onReplyRead: { drained.append("drained") }))
        #expect(await exchange(a, to: nodeB, S3Body(ByteBuffer(bytes: bytes(8)))) == .outcomeUnknown(nodeB))
        #expect(calls.all.count == 1)
        #expect(drained.all == ["drained"])
        #expect(network.statistics.droppedReplies == 1)
        #expect(network.statistics.delivered == 1)
    }

    @Test("duplicate = 1 calls the handler twice with identical bodies; the sender sees one answer")
    func duplicate() async throws {
        let network = InProcessNetwork(faults: FaultPlan(seed: 1, duplicate: 1))
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls))
        let payload = bytes(100)
        let body = S3Body(stream: Chunks(bytes: payload, size: 7), length: Int64(payload.count))
        let response = try await a.send(ClusterRequest(verb: "accept", resource: "r", body: body), to: nodeB)
        var echoed: [UInt8] = []
        for try await chunk in response.body { echoed += Array(chunk.readableBytesView) }
        #expect(echoed == payload)
        #expect(calls.all.count == 2)
        #expect(calls.all.allSatisfy({ $0.body == payload && $0.verb == "accept" && $0.sender == nodeA }))
        #expect(network.statistics.duplicated == 1)
        #expect(network.statistics.delivered == 1)
    }

    @Test("bodies above maxDuplicatedBody, or of unknown length, are never duplicated")
    func largeBodiesAreNotDuplicated() async {
        let network = InProcessNetwork(faults: FaultPlan(seed: 1, duplicate: 1, maxDuplicatedBody: 16))
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls))

        #expect(await exchange(a, to: nodeB, S3Body(ByteBuffer(bytes: bytes(17)))) == .delivered(.ok))
        #expect(calls.all.count == 1)
        #expect(await exchange(a, to: nodeB, S3Body(stream: Chunks(bytes: bytes(8), size: 4), length: nil)) == .delivered(.ok))
        #expect(calls.all.count == 2)
        // At the limit it is still duplicated.
        #expect(await exchange(a, to: nodeB, S3Body(ByteBuffer(bytes: bytes(16)))) == .delivered(.ok))
        #expect(calls.all.count == 4)
        #expect(network.statistics.duplicated == 1)
    }

    @Test("delays go through the injected sleeper, within the plan's range")
    func delaysUseTheSleeper() async {
        let range = Duration.milliseconds(1) ... Duration.milliseconds(10)
        func run(seed: UInt64) async -> [Duration] {
            let slept = Log<Duration>()
            let network = InProcessNetwork(
                faults: FaultPlan(seed: seed, delay: range, delayProbability: 1),
                sleeper: { slept.append($0) }
            )
            let a = network.attach(nodeA, handler: recording(nodeA, into: Log()))
            _ = network.attach(nodeB, handler: recording(nodeB, into: Log()))
            for _ in 0..<20 {
                #expect(await exchange(a, to: nodeB) == .delivered(.ok))
            }
            #expect(network.statistics.delayed == 20)
            return slept.all
        }
        let first = await run(seed: 5)
        let replay = await run(seed: 5)
        #expect(first.count == 20)
        #expect(first.allSatisfy({ range.contains($0) }))
        #expect(Set(first).count > 1)
        #expect(replay == first)
    }

    @Test("a request whose link is cut during its delay is not delivered")
    func partitionDuringDelay() async {
        let hook = Log<InProcessNetwork>()
        let network = InProcessNetwork(
            faults: FaultPlan(seed: 1, delay: Duration.milliseconds(5) ... Duration.milliseconds(5), delayProbability: 1),
            sleeper: { _ in _ = hook.all.first?.partition([[nodeA], [nodeB]]) }
        )
        hook.append(network)
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: calls))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls))
        #expect(await exchange(a, to: nodeB) == .notDelivered(nodeB))
        #expect(calls.all.isEmpty)
        #expect(network.statistics.delayed == 1)
        #expect(network.statistics.refused == 1)
    }

    // MARK: Determinism

    /// How one send ended and how many times the receiver's handler ran for it.
    private struct Trace: Equatable {
        var outcome: Outcome
        var calls: Int
    }

    /// 50 sends from A to B under a plan where every fault is a coin toss; with `noise`, a send
    /// from A to C before each one.
    private func traces(seed: UInt64, noise: Bool = false) async -> [Trace] {
        let plan = FaultPlan(seed: seed, dropRequest: 0.5, dropReply: 0.5, duplicate: 0.5,
                             delay: Duration.milliseconds(1) ... Duration.milliseconds(3), delayProbability: 0.5)
        let network = InProcessNetwork(faults: plan, sleeper: { _ in })
        let calls = Log<Call>()
        let a = network.attach(nodeA, handler: recording(nodeA, into: Log()))
        _ = network.attach(nodeB, handler: recording(nodeB, into: calls))
        _ = network.attach(nodeC, handler: recording(nodeC, into: Log()))
        var result: [Trace] = []
        for index in 0..<50 {
            if noise { _ = await exchange(a, to: nodeC) }
            let before = calls.all.count
            let outcome = await exchange(a, to: nodeB, S3Body(ByteBuffer(bytes: [UInt8(index)])))
            result.append(Trace(outcome: outcome, calls: calls.all.count - before))
        }
        return result
    }

    @Test("the same seed gives the same decisions, a different seed different ones")
    func seededDecisions() async {
        let first = await traces(seed: 42)
        let replay = await traces(seed: 42)
        let other = await traces(seed: 43)
        #expect(replay == first)
        #expect(other != first)
        // Every kind of outcome occurs, so the comparison means something.
        #expect(first.contains(where: { $0.outcome == .delivered(.ok) }))
        #expect(first.contains(where: { $0.outcome == .notDelivered(nodeB) }))
        #expect(first.contains(where: { $0.outcome == .outcomeUnknown(nodeB) }))
        #expect(first.contains(where: { $0.calls == 2 }))
    }

    @Test("a link's decisions do not depend on traffic on other links")
    func decisionsArePerLink() async {
        let quiet = await traces(seed: 42)
        let noisy = await traces(seed: 42, noise: true)
        #expect(noisy == quiet)
    }

    @Test("decide is pure and tells the two directions of a link apart")
    func decideIsPure() {
        let plan = FaultPlan(seed: 9, dropRequest: 0.5, dropReply: 0.5, duplicate: 0.5)
        let forward = (0..<64).map { plan.decide(from: nodeA, to: nodeB, sequence: UInt64($0)) }
        let again = (0..<64).map { plan.decide(from: nodeA, to: nodeB, sequence: UInt64($0)) }
        let backward = (0..<64).map { plan.decide(from: nodeB, to: nodeA, sequence: UInt64($0)) }
        #expect(forward == again)
        #expect(forward != backward)
        #expect(FaultPlan.none.decide(from: nodeA, to: nodeB, sequence: 0) == FaultDecision())
    }

    @Test("a response body that fails part way reaches the sender as outcome unknown")
    func failingResponseBody() async throws {
        struct Failing: AsyncSequence, Sendable {
            typealias Element = ByteBuffer
            typealias Failure = any Error
            struct AsyncIterator: AsyncIteratorProtocol {
                var sent = false
                mutating func next() async throws -> ByteBuffer? {
                    if sent { throw Boom() }
                    sent = true
                    return ByteBuffer(bytes: [1, 2, 3])
                }
            }
            func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
        }
        let network = InProcessNetwork()
        let a = network.attach(nodeA, handler: Handler { _, _ in ClusterResponse(body: S3Body(stream: Failing(), length: nil)) })
        _ = network.attach(nodeB, handler: Handler { _, _ in ClusterResponse(body: S3Body(stream: Failing(), length: nil)) })
        let response = try await a.send(ClusterRequest(verb: "read", resource: "r"), to: nodeB)
        var chunks = 0
        await #expect { for try await _ in response.body { chunks += 1 } } throws: {
            if case .outcomeUnknown(let peer, _)? = $0 as? ClusterTransportError { return peer == nodeB }
            return false
        }
        #expect(chunks == 1)
    }
}
