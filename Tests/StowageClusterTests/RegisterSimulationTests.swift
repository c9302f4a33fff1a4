import Foundation
import Testing
@testable import StowageCluster

/// The register under the deterministic simulator: many seeded histories with faults, each
/// checked for linearizability and the acceptor invariants. `STOWAGE_SIM_HISTORIES` sets
/// how many (default 100,000, split over shards that run in parallel); `STOWAGE_SIM_SEED`
/// replays one seed and prints its history.
@Suite struct RegisterSimulationTests {
    static let shards = 8
    static var histories: Int {
        ProcessInfo.processInfo.environment["STOWAGE_SIM_HISTORIES"].flatMap(Int.init) ?? 100_000
    }

    @Test(arguments: 0..<shards)
    func seededHistoriesAreLinearizable(shard: Int) {
        let perShard = UInt64((Self.histories + Self.shards - 1) / Self.shards)
        let start = UInt64(shard) * perShard
        let result = SimulationRunner.sweep(start..<(start + perShard))
        if let failure = result.failure { Issue.record("\(failure)") }
        #expect(result.tally.histories == Int(perShard))
        // Most operations must get a definite answer, or the run proves little.
        #expect(result.tally.ok + result.tally.preconditionFailed + result.tally.values > 3 * (result.tally.unavailable + result.tally.unknown))
        #expect(result.tally.collections > 0, "the collector never collected anything")
        print("register simulation shard \(shard): \(result.tally)")
    }

    @Test func replay() throws {
        guard let seed = ProcessInfo.processInfo.environment["STOWAGE_SIM_SEED"].flatMap(UInt64.init) else { return }
        let configuration = SimulationRunner.configuration(seed: seed, rules: .all)
        var simulation = RegisterSimulation(seed: seed, configuration: configuration)
        let history = simulation.run()
        print("seed \(seed) (\(configuration))")
        for entry in history.sorted(by: { $0.invokedAt < $1.invokedAt }) { print("  \(entry)") }
        #expect(simulation.violations.isEmpty, "\(simulation.violations)")
        #expect(LinearizabilityChecker.check(history))
    }

    @Test func sameSeedSameHistory() {
        for seed: UInt64 in [1, 77, 4_242] {
            let configuration = SimulationRunner.configuration(seed: seed, rules: .all)
            var first = RegisterSimulation(seed: seed, configuration: configuration)
            var second = RegisterSimulation(seed: seed, configuration: configuration)
            #expect(first.run().map(\.description) == second.run().map(\.description))
        }
    }
}
