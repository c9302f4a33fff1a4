import Foundation
import Logging
import Testing
@testable import StowageCluster

/// The register on real per-drive SQLite catalogs in temporary directories, through the
/// async coordinator: durability across reopen, racing conditional writers, lost drives.
@Suite struct RegisterOnCatalogsTests {
    /// A drive taken out of rotation: requests to it are not delivered.
    struct OfflineReplica: RegisterReplica {
        func listRange(_ request: ListRangeRequest) async -> ListRangeReply? { nil }
        func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery { .notDelivered }
        var isOnline: Bool { false }
    }

    final class Drives: Sendable {
        let root: URL
        let catalogs: [DriveCatalog]

        init(count: Int) throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-register-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            self.root = root
            catalogs = try (0..<count).map { try Drives.open(root, $0) }
        }

        static func open(_ root: URL, _ index: Int) throws -> DriveCatalog {
            try DriveCatalog.open(
                path: root.appendingPathComponent("catalog-\(index).sqlite").path, durable: false,
                logger: Logger(label: "test"))
        }

        func reopen() throws -> [DriveCatalog] {
            for catalog in catalogs { try catalog.close() }
            return try catalogs.indices.map { try Drives.open(root, $0) }
        }

        func coordinator(node: UInt16, offline: Set<Int> = [], catalogs: [DriveCatalog]? = nil) throws -> RegisterCoordinator {
            let catalogs = catalogs ?? self.catalogs
            let reserved = try catalogs.map { try $0.clockReservation() }.max() ?? 0
            let clock = NodeClock(nodeIndex: node, reservedUpToMs: reserved) { upTo in
                for catalog in catalogs { try await catalog.reserveClock(upToMs: upTo) }
            }
            let replicas: [any RegisterReplica] = catalogs.enumerated().map { slot, catalog in
                offline.contains(slot) ? OfflineReplica() as any RegisterReplica : LocalDriveReplica(catalog: catalog, isVoter: true)
            }
            var timing = RegisterCoordinator.Timing()
            timing.roundTimeout = .milliseconds(500)
            return RegisterCoordinator(replicas: replicas, clock: clock, timing: timing)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    private func value(_ n: UInt64, _ text: String = "") -> RegisterValue {
        RegisterValue(writeID: WriteID(high: 7, low: n), payload: Array(text.utf8))
    }

    private let key = RegisterKey(scope: Array(repeating: 1, count: 16), key: "photos/cat.jpg")

    @Test(.timeLimit(.minutes(1))) func writeReadAndSurviveReopen() async throws {
        let drives = try Drives(count: 6)
        defer { drives.remove() }
        let set = try drives.coordinator(node: 0)
        guard case .written(let written) = await set.write(value(1, "v1"), key: key) else { Issue.record("write failed"); return }
        guard case .found(let found) = await set.read(key: key) else { Issue.record("read failed"); return }
        #expect(found?.value == value(1, "v1") && found?.ballot == written.ballot)
        #expect(try drives.catalogs[0].clockReservation() > 0)

        let reopened = try drives.reopen()
        defer { for catalog in reopened { try? catalog.close() } }
        let again = try drives.coordinator(node: 1, catalogs: reopened)
        guard case .found(let after) = await again.read(key: key) else { Issue.record("read after reopen failed"); return }
        #expect(after?.value == value(1, "v1"))
        // At least Q = 4 catalogs hold the accepted value durably.
        #expect(try reopened.filter { try $0.record(key)?.accepted?.value == value(1, "v1") }.count >= 4)
        // A new process issues ballots above everything the previous one could have issued.
        guard case .written(let later) = await again.write(value(2), key: key) else { Issue.record("second write failed"); return }
        #expect(later.ballot > written.ballot)
    }

    @Test(.timeLimit(.minutes(1))) func racingConditionalWritersHaveOneWinner() async throws {
        let drives = try Drives(count: 6)
        defer { drives.remove() }
        let coordinators = try (0..<3).map { try drives.coordinator(node: UInt16($0)) }
        for round in 0..<15 {
            let key = RegisterKey(scope: [9], key: "race-\(round)")
            let outcomes = await withTaskGroup(of: RegisterOperation.Outcome.self) { group in
                for (index, set) in coordinators.enumerated() {
                    let mine = value(UInt64(round * 10 + index))
                    group.addTask { await set.compareAndSet(key: key) { current in current == nil ? .write(mine) : .refuse } }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            var winners: [AcceptedValue] = []
            for outcome in outcomes {
                switch outcome {
                case .written(let value): winners.append(value)
                case .preconditionFailed(let current): #expect(current != nil, "a 412 must name the winner's value")
                case .unavailable, .outcomeUnknown: break  // 503: allowed, indeterminate
                case .found: Issue.record("a write answered like a read")
                }
            }
            #expect(winners.count <= 1, "round \(round): \(outcomes)")
            guard case .found(let current) = await coordinators[0].read(key: key) else { Issue.record("read failed"); continue }
            if let winner = winners.first { #expect(current?.value == winner.value) }
            #expect(current != nil || winners.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1))) func twoDrivesDownStillServesThreeDownIsUnavailable() async throws {
        let drives = try Drives(count: 6)
        defer { drives.remove() }
        let healthy = try drives.coordinator(node: 0)
        guard case .written = await healthy.write(value(1, "before"), key: key) else { Issue.record("write failed"); return }

        let degraded = try drives.coordinator(node: 1, offline: [1, 4])
        guard case .found(let seen) = await degraded.read(key: key) else { Issue.record("degraded read failed"); return }
        #expect(seen?.value == value(1, "before"))
        guard case .written = await degraded.write(value(2, "during"), key: key) else { Issue.record("degraded write failed"); return }

        let broken = try drives.coordinator(node: 2, offline: [0, 2, 5])
        let rowsBefore = try drives.catalogs.map { try $0.record(key)?.accepted }
        guard case .unavailable = await broken.write(value(3, "lost"), key: key) else { Issue.record("expected 503"); return }
        // The 503 came before anything was sent: no drive holds the refused value.
        #expect(try drives.catalogs.map { try $0.record(key)?.accepted } == rowsBefore)
        // R = 3 drives still answer a register read; it must not be stale.
        switch await broken.read(key: key) {
        case .found(let current): #expect(current?.value == value(2, "during"))
        case .unavailable: break
        default: Issue.record("unexpected read outcome")
        }

        guard case .found(let restored) = await healthy.read(key: key) else { Issue.record("read after restore failed"); return }
        #expect(restored?.value == value(2, "during"))
    }
}
