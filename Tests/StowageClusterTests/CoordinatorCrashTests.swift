import Foundation
import Logging
import Testing
@testable import StowageCluster

/// A coordinator that dies at each step of a write, on real catalogs: its state machine is
/// driven by hand and stopped after staging, after its prepare, and after its accept reached
/// exactly j of the 6 drives (j = 0…6, so both sides of the quorum Q = 4), with its learn when
/// it reached Q. Afterwards, reads from fresh coordinators (one with the drives in reverse
/// order, so the first answers may miss the dead write) may see the dead write take effect
/// once, never undo it; a value that reached a quorum (it may have been acknowledged) is never
/// lost; a later write wins.
@Suite struct CoordinatorCrashTests {
    enum Kind: String, CaseIterable, Sendable { case blind, conditional }

    final class Drives: Sendable {
        let root: URL
        let catalogs: [DriveCatalog]
        init() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-crash-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            self.root = root
            catalogs = try (0..<6).map {
                try DriveCatalog.open(path: root.appendingPathComponent("d\($0).sqlite").path, durable: false, logger: Logger(label: "test"))
            }
        }
        deinit {
            for catalog in catalogs { try? catalog.close() }
            try? FileManager.default.removeItem(at: root)
        }

        func coordinator(node: UInt16, reversed: Bool = false) throws -> RegisterCoordinator {
            let reserved = try catalogs.map { try $0.clockReservation() }.max() ?? 0
            let catalogs = self.catalogs
            let clock = NodeClock(nodeIndex: node, reservedUpToMs: reserved) { upTo in
                for catalog in catalogs { try await catalog.reserveClock(upToMs: upTo) }
            }
            let replicas = catalogs.map { LocalDriveReplica(catalog: $0, isVoter: true) }
            return RegisterCoordinator(replicas: reversed ? replicas.reversed() : replicas, clock: clock)
        }
    }

    private func value(_ n: UInt64) -> RegisterValue { RegisterValue(writeID: WriteID(high: 4, low: n), payload: Array("v\(n)".utf8)) }

    /// Runs `op` by hand until it would send an accept of its own value, delivers that accept to
    /// the first `reach` drives only, optionally their learn, and abandons it (the crash).
    private func crash(
        _ kind: Kind, reach: Int, learn: Bool, drives: Drives, key: RegisterKey, proposing: RegisterValue, clock: NodeClock
    ) async throws {
        var op = RegisterOperation(kind == .blind ? .blindWrite(proposing) : .conditionalWrite, setSize: 6)
        var actions = op.start()
        while let action = actions.first {
            actions.removeFirst()
            switch action {
            case .issueBallot(let above, _):
                actions += op.proceed(ballot: try await clock.issue(above: above))
            case .evaluate:
                actions += op.decide(.write(proposing))
            case .send(let round?, .accept(let ballot, let value, let carriesData)) where value == proposing:
                // The crash: the accept leaves for `reach` drives, then the coordinator is gone.
                for slot in 0..<reach {
                    _ = try await drives.catalogs[slot].apply(.accept(ballot, value, carriesData: carriesData), to: key, wallMs: WallClock.nowMs(), isVoter: true)
                    if learn { _ = try await drives.catalogs[slot].apply(.learn(ballot, value.writeID), to: key, wallMs: WallClock.nowMs(), isVoter: true) }
                }
                _ = round
                return
            case .send(let round?, let request):
                for slot in 0..<6 {
                    let reply = try await drives.catalogs[slot].apply(request, to: key, wallMs: WallClock.nowMs(), isVoter: true)
                    actions += op.receive(round: round, slot: slot, .reply(reply))
                }
            case .send(nil, _), .finish:
                return
            }
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: Kind.allCases)
    func everyCrashPointResolvesConsistently(kind: Kind) async throws {
        for reach in 0...6 {
            // A learn follows only a quorum of accepts.
            for learn in [false, true] where !learn || reach >= 4 {
                let drives = try Drives()
                let key = RegisterKey(scope: [1], key: "k")
                let first = try drives.coordinator(node: 1)
                guard case .written = await first.write(value(1), key: key) else { Issue.record("setup write"); continue }
                let dying = NodeClock(nodeIndex: 2, reservedUpToMs: 0) { _ in }
                try await crash(kind, reach: reach, learn: learn, drives: drives, key: key, proposing: value(2), clock: dying)

                // Recovery by whoever reads next: both fresh coordinators see one value, twice.
                var seen: [RegisterValue?] = []
                for (node, reversed) in [(UInt16(3), true), (4, false), (3, true), (4, false)] {
                    let outcome = await (try drives.coordinator(node: node, reversed: reversed)).read(key: key)
                    guard case .found(let found) = outcome else {
                        Issue.record("read after a crash (\(kind), reach \(reach)) failed: \(outcome)")
                        return
                    }
                    seen.append(found?.value)
                }
                #expect(seen.allSatisfy { $0 == value(1) || $0 == value(2) }, "\(kind), reach \(reach): \(seen)")
                // The dead write may take effect between two reads, once; it is never undone.
                if let firstNew = seen.firstIndex(of: value(2)) {
                    #expect(seen[firstNew...].allSatisfy { $0 == value(2) }, "\(kind), reach \(reach), learn \(learn): reads went back \(seen)")
                }
                if reach >= 4 {
                    // Q drives accepted it: the dead coordinator may have acknowledged it.
                    #expect(seen.first == value(2), "\(kind), reach \(reach): a write that reached a quorum was lost")
                }
                // A later write wins, and the dead write never comes back over it.
                let later = try drives.coordinator(node: 5)
                let laterOutcome = await later.write(value(3), key: key)
                guard case .written = laterOutcome else { Issue.record("write after the crash (\(kind), reach \(reach), learn \(learn)): \(laterOutcome)"); return }
                for (node, reversed) in [(UInt16(3), true), (4, false)] {
                    let outcome = await (try drives.coordinator(node: node, reversed: reversed)).read(key: key)
                    guard case .found(let found) = outcome else { Issue.record("read after the later write: \(outcome)"); return }
                    #expect(found?.value == value(3), "\(kind), reach \(reach): the later write was overtaken")
                }
            }
        }
    }
}
