import Foundation
import Logging
import StowageCore
import StowageInProcessTransport
import Testing
@testable import StowageCluster

/// Three nodes with two drives each, in one process: one 4+2 erasure set formed node-major
/// across them, every node coordinating, drives on other nodes reached through the real
/// in-process `ClusterTransport` (partitions, and a seeded plan that drops and duplicates).
@Suite struct ThreeNodeRegisterTests {
    final class Cluster: Sendable {
        let root: URL
        let network: InProcessNetwork
        let catalogs: [[DriveCatalog]]
        let coordinators: [RegisterCoordinator]

        init(faults: FaultPlan = .none) throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-3x2-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            self.root = root
            network = InProcessNetwork(faults: faults)
            let catalogs = try (0..<3).map { node in
                try (0..<2).map { drive in
                    try DriveCatalog.open(
                        path: root.appendingPathComponent("n\(node)-d\(drive).sqlite").path, durable: false, logger: Logger(label: "test"))
                }
            }
            self.catalogs = catalogs
            let layout = try ErasureSetFormation.form(
                nodes: (0..<3).map { .init(id: "n\($0)", drives: ["n\($0)-d0", "n\($0)-d1"]) }, dataShards: 4, parityShards: 2)
            let slots = layout.sets[0]
            var transports: [any ClusterTransport] = []
            for node in 0..<3 {
                var served: [String: (catalog: DriveCatalog, isVoter: Bool)] = [:]
                for drive in 0..<2 { served["n\(node)-d\(drive)"] = (catalogs[node][drive], true) }
                transports.append(network.attach(NodeID("n\(node)"), handler: DriveRequestHandler(drives: served)))
            }
            var timing = RegisterCoordinator.Timing()
            timing.roundTimeout = .milliseconds(300)
            coordinators = (0..<3).map { node in
                let replicas: [any RegisterReplica] = slots.map { slot in
                    let owner = Int(slot.node.dropFirst())!
                    let drive = Int(slot.drive.suffix(1))!
                    if owner == node { return LocalDriveReplica(catalog: catalogs[node][drive], isVoter: true) }
                    return RemoteDriveReplica(transport: transports[node], node: NodeID(slot.node), driveUUID: slot.drive)
                }
                let own = catalogs[node]
                let clock = NodeClock(nodeIndex: UInt16(node), reservedUpToMs: 0) { upTo in
                    for catalog in own { try await catalog.reserveClock(upToMs: upTo) }
                }
                return RegisterCoordinator(replicas: replicas, clock: clock, timing: timing)
            }
        }

        deinit {
            for node in catalogs { for catalog in node { try? catalog.close() } }
            try? FileManager.default.removeItem(at: root)
        }
    }

    private func value(_ n: UInt64) -> RegisterValue { RegisterValue(writeID: WriteID(high: 3, low: n), payload: Array("v\(n)".utf8)) }

    private func current(_ outcome: RegisterOperation.Outcome) -> RegisterValue?? {
        if case .found(let found) = outcome { return .some(found?.value) }
        return nil
    }

    @Test(.timeLimit(.minutes(1))) func sameOperationsThroughEveryCoordinator() async throws {
        let cluster = try Cluster()
        let key = RegisterKey(scope: [7], key: "photos/cat.jpg")
        guard case .written = await cluster.coordinators[0].write(value(1), key: key) else { Issue.record("write"); return }
        for coordinator in cluster.coordinators {
            #expect(current(await coordinator.read(key: key)) == .some(value(1)))
        }
        let swapped = await cluster.coordinators[2].compareAndSet(key: key) { current in
            current?.value == self.value(1) ? .write(self.value(2)) : .refuse
        }
        guard case .written = swapped else { Issue.record("compare-and-set: \(swapped)"); return }
        #expect(current(await cluster.coordinators[0].read(key: key)) == .some(value(2)))
        let tombstone = RegisterValue(writeID: WriteID(high: 3, low: 99), tombstone: true)
        guard case .written = await cluster.coordinators[1].write(tombstone, key: key) else { Issue.record("delete"); return }
        #expect(current(await cluster.coordinators[2].read(key: key)) == .some(tombstone))
    }

    @Test(.timeLimit(.minutes(2)), arguments: [false, true])
    func racingConditionalWritersHaveOneWinner(lossyNetwork: Bool) async throws {
        let faults = lossyNetwork ? FaultPlan(seed: 12, dropRequest: 0.03, dropReply: 0.03, duplicate: 0.2) : .none
        let cluster = try Cluster(faults: faults)
        var indeterminate = 0
        for round in 0..<20 {
            let key = RegisterKey(scope: [8], key: "race-\(round)")
            let outcomes = await withTaskGroup(of: RegisterOperation.Outcome.self) { group in
                for (node, coordinator) in cluster.coordinators.enumerated() {
                    let mine = value(UInt64(round * 10 + node))
                    group.addTask { await coordinator.compareAndSet(key: key) { $0 == nil ? .write(mine) : .refuse } }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            var winners: [RegisterValue] = []
            var refusedOn: [RegisterValue] = []
            for outcome in outcomes {
                switch outcome {
                case .written(let won): winners.append(won.value)
                case .preconditionFailed(let current):
                    #expect(current != nil, "a 412 names the value that won")
                    if let current { refusedOn.append(current.value) }
                case .unavailable, .outcomeUnknown: indeterminate += 1
                case .found: Issue.record("a write answered like a read")
                }
            }
            #expect(winners.count <= 1, "round \(round): \(outcomes)")
            // Every coordinator then reads the same value: the winner's when there was one.
            var seen: [RegisterValue?] = []
            for coordinator in cluster.coordinators {
                if case .found(let found) = await coordinator.read(key: key) { seen.append(found?.value) }
            }
            #expect(!seen.isEmpty, "round \(round): no coordinator could read")
            #expect(Set(seen.map { $0?.writeID }).count <= 1, "round \(round): coordinators disagree")
            if let winner = winners.first {
                if let first = seen.first { #expect(first == winner) }
                #expect(refusedOn.allSatisfy { $0 == winner }, "round \(round): a 412 named another value than the winner")
            }
        }
        print("3×2 racing writers (lossy: \(lossyNetwork)): \(indeterminate) of 60 answered 503")
    }

    @Test(.timeLimit(.minutes(1))) func oneNodeDownKeepsServingTwoDownIsUnavailable() async throws {
        let cluster = try Cluster()
        let key = RegisterKey(scope: [9], key: "k")
        guard case .written = await cluster.coordinators[0].write(value(1), key: key) else { Issue.record("write"); return }

        // n2 cut off: n0 and n1 still reach 4 of 6 drives (Q = 4).
        cluster.network.partition([[NodeID("n0"), NodeID("n1")], [NodeID("n2")]])
        guard case .written = await cluster.coordinators[1].write(value(2), key: key) else { Issue.record("write with a node down"); return }
        #expect(current(await cluster.coordinators[0].read(key: key)) == .some(value(2)))
        // The isolated node reaches 2 drives: no read quorum, no promise quorum.
        guard case .unavailable = await cluster.coordinators[2].read(key: key) else { Issue.record("isolated read must be 503"); return }
        let refused = await cluster.coordinators[2].compareAndSet(key: key) { _ in .write(self.value(3)) }
        guard case .unavailable = refused else { Issue.record("isolated CAS must be 503: \(refused)"); return }

        // Every node alone: nobody has a quorum, nothing changes.
        cluster.network.partition([[NodeID("n0")], [NodeID("n1")], [NodeID("n2")]])
        for coordinator in cluster.coordinators {
            guard case .unavailable = await coordinator.read(key: key) else { Issue.record("read must be 503"); return }
        }
        cluster.network.heal()
        for coordinator in cluster.coordinators {
            #expect(current(await coordinator.read(key: key)) == .some(value(2)))
        }
    }
}
