@testable import StowageCluster

/// Runs seeded simulations and checks each history. A seed fixes everything, the set size
/// and fault mix included, so a failure replays from its seed alone.
enum SimulationRunner {
    struct Failure: CustomStringConvertible {
        let seed: UInt64
        let configuration: RegisterSimulation.Configuration
        let reason: String
        let history: [HistoryEntry]

        var description: String {
            var lines = ["seed \(seed) (\(configuration)): \(reason)",
                         "replay: STOWAGE_SIM_SEED=\(seed) swift test --filter RegisterSimulationTests/replay"]
            lines += history.sorted { $0.invokedAt < $1.invokedAt }.map { "  \($0)" }
            return lines.joined(separator: "\n")
        }
    }

    /// A change to every configuration of a sweep (the simulator-level mutations).
    typealias Tweak = @Sendable (inout RegisterSimulation.Configuration) -> Void

    static func configuration(seed: UInt64, rules: RegisterSafetyRules, tweak: Tweak? = nil) -> RegisterSimulation.Configuration {
        var random = SimRandom(seed: seed ^ 0x5EED_5EED_5EED_5EED)
        var configuration = RegisterSimulation.Configuration()
        configuration.setSize = [3, 3, 5, 6][random.int(0..<4)]
        configuration.coordinators = random.int(2...4)
        configuration.operations = random.int(5...9)
        configuration.wildClocks = random.chance(0.1)
        configuration.rules = rules
        tweak?(&configuration)
        return configuration
    }

    /// What the operations of a sweep answered, so a run can show it exercised more than 503s.
    struct Tally: CustomStringConvertible {
        var histories = 0
        var ok = 0, preconditionFailed = 0, values = 0, unavailable = 0, unknown = 0
        /// Shard deletions by collectors.
        var collections = 0

        mutating func add(_ history: [HistoryEntry]) {
            histories += 1
            for entry in history {
                switch entry.result {
                case .ok: ok += 1
                case .preconditionFailed: preconditionFailed += 1
                case .value: values += 1
                case .unavailable: unavailable += 1
                case .unknown: unknown += 1
                }
            }
        }

        var description: String {
            "\(histories) histories: \(ok) writes ok, \(preconditionFailed) 412, \(values) reads answered, "
                + "\(unavailable) unavailable, \(unknown) outcome unknown, \(collections) shards collected"
        }
    }

    static func run(seed: UInt64, rules: RegisterSafetyRules = .all, tweak: Tweak? = nil, tally: inout Tally) -> Failure? {
        let configuration = configuration(seed: seed, rules: rules, tweak: tweak)
        var simulation = RegisterSimulation(seed: seed, configuration: configuration)
        let history = simulation.run()
        tally.add(history)
        tally.collections += simulation.collections
        if let violation = simulation.violations.first {
            return Failure(seed: seed, configuration: configuration, reason: "invariant: \(violation)", history: history)
        }
        if !LinearizabilityChecker.check(history) {
            return Failure(seed: seed, configuration: configuration, reason: "not linearizable", history: history)
        }
        return nil
    }

    /// Runs seeds `range` and returns the first failure, with counts of what happened.
    static func sweep(
        _ range: Range<UInt64>, rules: RegisterSafetyRules = .all, tweak: Tweak? = nil
    ) -> (failure: Failure?, tally: Tally) {
        var tally = Tally()
        for seed in range {
            if let failure = run(seed: seed, rules: rules, tweak: tweak, tally: &tally) { return (failure, tally) }
        }
        return (nil, tally)
    }
}
