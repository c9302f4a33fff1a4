import Foundation
import StowageCore
import StowageInProcessTransport
import Synchronization
import Testing
@testable import StowageCluster

/// The cluster map as a register in the system set (CLUSTER.md §9), on three nodes of two
/// drives in one process: the founder's seed goes in first, changes are compare-and-sets from
/// the epoch they were computed on, racing changes both land without forking the map, a
/// change that rewrites the map is refused, and without a quorum nothing changes.
@Suite struct ClusterMapRegisterTests {
    private func register(_ nodes: ThreeNodeBackendTests.Nodes, _ node: Int) throws -> ClusterMapRegister {
        ClusterMapRegister(coordinator: try nodes.backends[node].openState().sets[0].coordinator)
    }

    private static let founded = ClusterMap.founding(
        clusterID: "c-test", node: .init(id: "n0", address: "127.0.0.1:4000", drives: ["/d0", "/d1"]),
        dataShards: 4, parityShards: 2, chunkSize: 1 << 20)

    private static func admitting(_ id: String, port: Int) -> @Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap? {
        { base throws(ClusterMap.Refused) in
            guard base.member(id) == nil else { return nil }
            var next = base
            try next.admit(.init(id: id, address: "127.0.0.1:\(port)", drives: ["/d0", "/d1"]))
            return next
        }
    }

    @Test(.timeLimit(.minutes(2))) func theSeedGoesInFirstAndChangesAreSeenByEveryNode() async throws {
        let nodes = try await ThreeNodeBackendTests.Nodes()
        #expect(try await register(nodes, 1).read() == nil)
        // Only the seed's holder may start the register.
        await #expect(throws: ClusterMapRegister.Failure.self) {
            _ = try await self.register(nodes, 1).change(seed: nil, Self.admitting("n1", port: 4001))
        }
        #expect(try await register(nodes, 2).read() == nil)
        let seeded = try await register(nodes, 0).change(seed: Self.founded) { _ in nil }
        #expect(seeded == Self.founded)
        #expect(try await register(nodes, 2).read() == Self.founded)
        // A change through another node, on the map it reads there.
        let grown = try await register(nodes, 1).change(seed: nil, Self.admitting("n1", port: 4001))
        #expect(grown.epoch == Self.founded.epoch + 1 && grown.member("n1")?.index == 1)
        #expect(try await register(nodes, 0).read() == grown)
        // Nothing to change: the map stays as it is, its epoch too.
        #expect(try await register(nodes, 2).change(seed: nil, Self.admitting("n1", port: 4001)) == grown)
        // A seed whose epoch the register passed is not written again.
        #expect(try await register(nodes, 0).change(seed: Self.founded) { _ in nil } == grown)
        await nodes.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func racingChangesBothLandOneAfterTheOther() async throws {
        let nodes = try await ThreeNodeBackendTests.Nodes()
        _ = try await register(nodes, 0).change(seed: Self.founded) { _ in nil }
        let first = try register(nodes, 1), second = try register(nodes, 2)
        async let a = first.change(seed: nil, Self.admitting("x", port: 5001))
        async let b = second.change(seed: nil, Self.admitting("y", port: 5002))
        let (mapA, mapB) = try await (a, b)
        let final = try #require(try await register(nodes, 0).read())
        #expect(final.epoch == Self.founded.epoch + 2)
        #expect(Set(final.members.map(\.id)) == ["n0", "x", "y"])
        #expect(Set(final.members.map(\.index)) == [0, 1, 2])
        #expect(Set([mapA.epoch, mapB.epoch]) == [final.epoch - 1, final.epoch])
        #expect(final.extends(mapA) && final.extends(mapB))
        await nodes.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func aChangeThatRewritesTheMapIsRefused() async throws {
        let nodes = try await ThreeNodeBackendTests.Nodes()
        let grown = try await register(nodes, 0).change(seed: Self.founded, Self.admitting("n1", port: 4001))
        let rewrites: [@Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap?] = [
            { base in var next = base; next.members.removeLast(); next.epoch += 1; return next },
            { base in var next = base; next.members[1].address = "127.0.0.1:9999"; next.epoch += 1; return next },
            { base in var next = base; next.dataShards = 2; next.epoch += 1; return next },
            { base in var next = base; next.members.append(.init(id: "z", address: "127.0.0.1:1", drives: ["/d"])); return next },
        ]
        for rewrite in rewrites {
            await #expect(throws: ClusterMapRegister.Failure.self) {
                _ = try await self.register(nodes, 1).change(seed: nil, rewrite)
            }
        }
        // A refusal from the change itself, whose reason is kept.
        do {
            _ = try await register(nodes, 2).change(seed: nil) { _ throws(ClusterMap.Refused) in
                throw ClusterMap.Refused(description: "not a multiple of 6")
            }
            Issue.record("the refusal was not thrown")
        } catch {
            #expect(error as? ClusterMapRegister.Failure == .refused("not a multiple of 6"))
        }
        #expect(try await register(nodes, 2).read() == grown)
        await nodes.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func withoutAQuorumNothingChanges() async throws {
        let nodes = try await ThreeNodeBackendTests.Nodes()
        let grown = try await register(nodes, 0).change(seed: Self.founded, Self.admitting("n1", port: 4001))
        // n2 alone reaches 2 of the set's 6 drives: it can neither read nor change the map.
        nodes.network.partition([[NodeID("n0"), NodeID("n1")], [NodeID("n2")]])
        for node in nodes.backends { await node.probeDrives() }
        do {
            _ = try await register(nodes, 2).change(seed: nil, Self.admitting("x", port: 5001))
            Issue.record("a change without a quorum succeeded")
        } catch {
            guard case .unavailable? = error as? ClusterMapRegister.Failure else {
                Issue.record("expected unavailable, got \(error)")
                return
            }
        }
        // The majority side reads the map unchanged and changes it.
        #expect(try await register(nodes, 0).read() == grown)
        let majority = try await register(nodes, 1).change(seed: nil, Self.admitting("y", port: 5002))
        #expect(majority.member("x") == nil && majority.member("y") != nil)
        nodes.network.heal()
        for node in nodes.backends { await node.probeDrives() }
        #expect(try await register(nodes, 2).read() == majority)
        await nodes.shutdown()
    }

    /// A drive that goes out of rotation when `down` is set (between a change's read and its
    /// write, below).
    final class Switch: Sendable {
        let down = Mutex(false)
        var isDown: Bool { down.withLock { $0 } }
    }

    struct SwitchableReplica: RegisterReplica {
        let inner: LocalDriveReplica
        let down: Switch

        func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
            down.isDown ? .notDelivered : await inner.handle(request, key: key)
        }
        var isOnline: Bool { !down.isDown }
        func listRange(_ request: ListRangeRequest) async -> ListRangeReply? { nil }
    }

    @Test(.timeLimit(.minutes(1))) func aWriteWithoutItsQuorumChangesNothing() async throws {
        let drives = try RegisterOnCatalogsTests.Drives(count: 6)
        defer { drives.remove() }
        let grown = try await ClusterMapRegister(coordinator: try drives.coordinator(node: 0))
            .change(seed: Self.founded, Self.admitting("n1", port: 4001))
        // Three of the six drives leave after the change has read the map: its write finds
        // too few drives to reach a quorum of 4.
        let down = Switch()
        let replicas: [any RegisterReplica] = drives.catalogs.enumerated().map { slot, catalog in
            let local = LocalDriveReplica(catalog: catalog, isVoter: true)
            return slot < 3 ? SwitchableReplica(inner: local, down: down) : local
        }
        let clock = NodeClock(nodeIndex: 1, reservedUpToMs: try drives.catalogs.map { try $0.clockReservation() }.max() ?? 0) { upTo in
            for catalog in drives.catalogs { try await catalog.reserveClock(upToMs: upTo) }
        }
        let half = ClusterMapRegister(coordinator: RegisterCoordinator(replicas: replicas, clock: clock))
        do {
            _ = try await half.change(seed: nil) { base throws(ClusterMap.Refused) in
                down.down.withLock { $0 = true }
                return try Self.admitting("x", port: 5001)(base)
            }
            Issue.record("a change without a write quorum succeeded")
        } catch {
            guard case .unavailable = error else {
                Issue.record("expected unavailable, got \(error)")
                return
            }
        }
        // Every drive again, through another node: the map is as it was, and changes.
        let again = ClusterMapRegister(coordinator: try drives.coordinator(node: 2))
        #expect(try await again.read() == grown)
        let next = try await again.change(seed: nil, Self.admitting("y", port: 5002))
        #expect(next.epoch == grown.epoch + 1 && next.member("x") == nil)
    }

    /// A drive that applies the first five accepts it is sent but loses their answers: the
    /// write's accept and the four recoveries the coordinator tries, which then reports the
    /// outcome unknown. After the fifth it runs `afterLosses` (once for all such drives) and,
    /// while `hidden` is set, answers nothing.
    final class LosingFirstAnswers: RegisterReplica {
        let inner: LocalDriveReplica
        let left = Mutex(5)
        let shared: Shared

        final class Shared: Sendable {
            let hidden = Mutex(false)
            let fired = Mutex(false)
            let afterLosses: @Sendable () async -> Void
            init(hidden: Bool = false, afterLosses: @escaping @Sendable () async -> Void = {}) {
                self.hidden.withLock { $0 = hidden }
                self.afterLosses = afterLosses
            }
        }

        init(inner: LocalDriveReplica, shared: Shared) {
            self.inner = inner
            self.shared = shared
        }

        func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
            let losing = left.withLock { $0 > 0 }
            if !losing, shared.hidden.withLock({ $0 }) { return .notDelivered }
            let delivery = await inner.handle(request, key: key)
            guard case .accept = request, losing else { return delivery }
            let last = left.withLock { left in
                left -= 1
                return left == 0
            }
            if last, shared.fired.withLock({ fired in defer { fired = true }; return !fired }) { await shared.afterLosses() }
            return .outcomeUnknown
        }
        var isOnline: Bool { true }
        func listRange(_ request: ListRangeRequest) async -> ListRangeReply? { nil }
    }

    /// Three lossy drives and three plain ones, coordinated by node 1.
    private func lossy(_ drives: RegisterOnCatalogsTests.Drives, _ shared: LosingFirstAnswers.Shared) throws -> ClusterMapRegister {
        let replicas: [any RegisterReplica] = drives.catalogs.enumerated().map { slot, catalog in
            let local = LocalDriveReplica(catalog: catalog, isVoter: true)
            return slot < 3 ? LosingFirstAnswers(inner: local, shared: shared) : local
        }
        let clock = NodeClock(nodeIndex: 1, reservedUpToMs: try drives.catalogs.map { try $0.clockReservation() }.max() ?? 0) { upTo in
            for catalog in drives.catalogs { try await catalog.reserveClock(upToMs: upTo) }
        }
        return ClusterMapRegister(coordinator: RegisterCoordinator(replicas: replicas, clock: clock))
    }

    /// Like forming a pool: asked again on the map it made, the change refuses.
    private static let admittingXOnce: @Sendable (ClusterMap) throws(ClusterMap.Refused) -> ClusterMap? = { base throws(ClusterMap.Refused) in
        guard base.member("x") == nil else { throw ClusterMap.Refused(description: "x is a member already") }
        return try admitting("x", port: 5001)(base)
    }

    @Test(.timeLimit(.minutes(1))) func aWriteWhoseAnswersWereLostButWasChosenIsNotMadeTwice() async throws {
        let drives = try RegisterOnCatalogsTests.Drives(count: 6)
        defer { drives.remove() }
        let grown = try await ClusterMapRegister(coordinator: try drives.coordinator(node: 0))
            .change(seed: Self.founded, Self.admitting("n1", port: 4001))
        let changed = try await lossy(drives, .init()).change(seed: nil, Self.admittingXOnce)
        #expect(changed.epoch == grown.epoch + 1 && changed.member("x") != nil)
        #expect(try await ClusterMapRegister(coordinator: try drives.coordinator(node: 2)).read() == changed)
    }

    @Test(.timeLimit(.minutes(1))) func anUnknownOutcomeThatNoReadSettlesIsReportedAsSuch() async throws {
        let drives = try RegisterOnCatalogsTests.Drives(count: 6)
        defer { drives.remove() }
        let grown = try await ClusterMapRegister(coordinator: try drives.coordinator(node: 0))
            .change(seed: Self.founded, Self.admitting("n1", port: 4001))
        // Once its answers are lost the drives go quiet: the settling read finds no quorum.
        let shared = LosingFirstAnswers.Shared(hidden: true)
        do {
            _ = try await lossy(drives, shared).change(seed: nil, Self.admittingXOnce)
            Issue.record("the change reported an outcome")
        } catch {
            guard case .outcomeUnknown? = error as? ClusterMapRegister.Failure else {
                Issue.record("expected outcomeUnknown, got \(error)")
                return
            }
        }
        // It was accepted everywhere: the next read chooses it.
        let settled = try #require(try await ClusterMapRegister(coordinator: try drives.coordinator(node: 2)).read())
        #expect(settled.epoch == grown.epoch + 1 && settled.member("x") != nil)
    }

    @Test(.timeLimit(.minutes(1))) func aChosenWriteUnderAnotherChangeIsNotMadeTwice() async throws {
        let drives = try RegisterOnCatalogsTests.Drives(count: 6)
        defer { drives.remove() }
        let grown = try await ClusterMapRegister(coordinator: try drives.coordinator(node: 0))
            .change(seed: Self.founded, Self.admitting("n1", port: 4001))
        // While this change's outcome is unknown, another node's change chooses it and lands
        // on top; the settling read finds that one.
        let other = ClusterMapRegister(coordinator: try drives.coordinator(node: 2))
        let shared = LosingFirstAnswers.Shared {
            _ = try? await other.change(seed: nil, Self.admitting("y", port: 5002))
        }
        let changed = try await lossy(drives, shared).change(seed: nil, Self.admittingXOnce)
        #expect(changed.epoch == grown.epoch + 2 && changed.member("x") != nil && changed.member("y") != nil)
        #expect(try await other.read() == changed)
    }

    @Test func aMapExtendsOnlyItsOwnPast() throws {
        var grown = Self.founded
        try grown.admit(.init(id: "n1", address: "127.0.0.1:4001", drives: ["/a"]))
        #expect(grown.extends(Self.founded) && !Self.founded.extends(grown))
        var other = Self.founded
        other.clusterID = "c-other"
        other.epoch += 5
        #expect(!other.extends(Self.founded))
        var renamed = grown
        renamed.members[0].id = "n9"
        #expect(!renamed.extends(grown))
    }
}
