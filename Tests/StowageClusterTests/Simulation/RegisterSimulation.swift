@testable import StowageCluster

/// A deterministic simulation of one register on one erasure set: coordinators run
/// ``RegisterOperation``s against simulated drives over a seeded network that delays,
/// drops, duplicates and reorders messages, while drives lose power or come back empty,
/// coordinators crash or pause past their deadlines, and clocks are skewed and jump
/// (CLUSTER.md §12). The same seed always produces the same history.
struct RegisterSimulation {
    struct Configuration: CustomStringConvertible {
        var setSize = 3
        var coordinators = 3
        var operations = 8
        var dropRate = 0.06
        var duplicateRate = 0.05
        var pauseRate = 0.04
        var driveFaults = true
        var coordinatorCrashes = true
        /// Clocks up to an hour apart, and jumps.
        var wildClocks = false
        var rules = RegisterSafetyRules.all
        /// Drives process each request ID at most once per incarnation (a transport rule).
        var dropsDuplicateRequests = true
        /// Collector runs (CLUSTER.md §3, data lifetime by reference) during the history.
        var collectors = 0...2
        /// The collector condemns the data on every drive before it reads them all.
        var collectorCondemnsFirst = true

        /// k of the set's code (2+1, 3+2, 4+2 for n = 3, 5, 6).
        var dataShards: Int { setSize - (setSize - 1) / 2 }
        /// W_data: drives that hold a value's data before it may be acknowledged. A 2+1 set
        /// uses `writeQuorum: data` (W_data = k = Q), as most 3-drive users would, so that its
        /// histories are not mostly refusals.
        var dataQuorum: Int {
            QuorumArithmetic(
                dataShards: dataShards, parityShards: setSize - dataShards,
                dataWriteQuorum: setSize == 3 ? .data : .parity
            ).dataDrivesNeeded(offline: 0)
        }

        var description: String {
            "n=\(setSize) coordinators=\(coordinators) ops=\(operations) wildClocks=\(wildClocks)"
        }
    }

    enum Event {
        case invoke(Int)
        /// `copies`: how many copies of this message the network carries. A transport may
        /// only answer "not delivered" when no copy can ever arrive.
        /// `message`: one ID per request, shared by its copies; the drive processes an ID at
        /// most once per incarnation (F1's "every drive refused" is sound only then).
        /// `incarnation`: the drive process it was sent to; a restarted drive drops it.
        case request(op: Int, round: Int, slot: Int, AcceptorRequest, copies: Int, message: Int, incarnation: Int)
        case sync(slot: Int)
        case reply(op: Int, round: Int, slot: Int, Delivery)
        case expire(op: Int, round: Int)
        case ballot(op: Int, above: Ballot?)
        case drivePowerLoss(slot: Int), driveRestart(slot: Int), driveReset(slot: Int)
        case coordinatorCrash(Int), coordinatorRestart(Int)
        case clockJump(node: Int, byMs: Int)
        case condemn(run: Int, slot: Int, incarnation: Int)
        case condemned(run: Int, slot: Int)
        case collectRead(run: Int, slot: Int)
        case collectAnswer(run: Int, slot: Int, AcceptedValue?)
        /// `delete`: the verdict was collect; otherwise the condemnation is lifted.
        case collectFinish(slot: Int, value: Int, delete: Bool)
        /// A collector run still missing answers gives up: silent drives mean keep.
        case collectTimeout(run: Int)
    }

    /// A collector working on one value's data: read the key, condemn on every drive and read
    /// each after its condemnation, then delete or release.
    struct CollectorRun {
        let target: Int
        var chosen: AcceptedValue?
        var answers: [Int: AcceptedValue?] = [:]
    }

    struct RunningOperation {
        var machine: RegisterOperation
        let entry: Int
        let coordinator: Int
        let epoch: Int
    }

    static let baseMs = 1_700_000_000_000
    static let timeoutMs = 60

    let configuration: Configuration
    var random: SimRandom
    var events = SimEventQueue<Event>()
    var now = 0
    var drives: [SimulatedDrive]
    var coordinators: [SimulatedCoordinator]
    var running: [Int: RunningOperation] = [:]
    var history: [HistoryEntry] = []
    var planned: [(coordinator: Int, call: HistoryEntry.Call)] = []
    var faultsOn = true
    /// Broken invariants seen at the drives (CLUSTER.md §3 invariants 3 and 5).
    var violations: [String] = []
    var nextValue = 1
    var nextMessage = 0
    /// Planned indices that are collector runs, and the runs under way.
    var collectorPlans: Set<Int> = []
    var collectorRuns: [Int: CollectorRun] = [:]
    /// The operation that staged each value's data (its writer, for the fence).
    var writers: [Int: Int] = [:]
    /// Values whose data was deleted on some drive (by a collector or a discard).
    var collected: Set<Int> = []
    /// Deletions by collectors (not discards), to show the collector does collect.
    var collections = 0
    /// Drives reset to empty so far (each may take a shard of every value with it).
    var resets = 0

    init(seed: UInt64, configuration: Configuration) {
        self.configuration = configuration
        random = SimRandom(seed: seed)
        drives = Array(repeating: SimulatedDrive(), count: configuration.setSize)
        coordinators = []
        let skew = configuration.wildClocks ? 3_600_000 : 150
        for index in 0..<configuration.coordinators {
            let incarnation = UInt32(truncatingIfNeeded: random.next())
            var coordinator = SimulatedCoordinator(
                clock: HybridLogicalClock(nodeIndex: UInt16(index), incarnation: incarnation, reservedUpToMs: 0))
            coordinator.clockOffsetMs = random.int(-skew...skew)
            coordinators.append(coordinator)
        }
        for slot in drives.indices { drives[slot].clockOffsetMs = random.int(-150...150) }
    }

    /// Runs the whole history and a final read once the faults have healed.
    mutating func run() -> [HistoryEntry] {
        planOperations()
        planFaults()
        drain(limit: 200_000)
        // Heal: every drive up, every coordinator alive, a quiet network; then one last read,
        // which must see every acknowledged write's effect.
        faultsOn = false
        for slot in drives.indices where !drives[slot].up { restartDrive(slot) }
        for index in coordinators.indices where !coordinators[index].alive { restartCoordinator(index) }
        planned.append((0, .read))
        events.schedule(.invoke(planned.count - 1), at: now + 1)
        drain(limit: 50_000)
        checkUnavailableWritesLeftNothing()
        return history
    }

    /// A write answered "unavailable" (nothing applied) must have left its value on no drive:
    /// the backend deletes such a write's data on that answer.
    private mutating func checkUnavailableWritesLeftNothing() {
        var refused = Set<UInt64>()
        for entry in history where entry.result == .unavailable {
            switch entry.call {
            case .write(let v?): refused.insert(UInt64(v))
            case .compareAndSet(_, let new): refused.insert(UInt64(new))
            default: break
            }
        }
        for (slot, drive) in drives.enumerated() {
            for record in [drive.durable, drive.volatile] {
                guard let accepted = record?.accepted, accepted.value.writeID.high == 0,
                      refused.contains(accepted.value.writeID.low) else { continue }
                violations.append("drive \(slot) holds value \(accepted.value.writeID.low) of a write answered unavailable")
            }
        }
    }

    private mutating func drain(limit: Int) {
        var steps = 0
        while let (time, event) = events.pop(), steps < limit {
            now = max(now, time)
            handle(event)
            steps += 1
        }
    }

    private mutating func planOperations() {
        var written: [Int?] = [nil]
        for _ in 0..<configuration.operations {
            let coordinator = random.int(0..<configuration.coordinators)
            let roll = random.int(0..<100)
            let call: HistoryEntry.Call
            if roll < 30 {
                let v = nextValue; nextValue += 1
                call = .write(v); written.append(v)
            } else if roll < 36 {
                call = .write(nil)
            } else if roll < 66 {
                let v = nextValue; nextValue += 1
                call = .compareAndSet(expect: written[random.int(0..<written.count)], new: v); written.append(v)
            } else {
                call = .read
            }
            planned.append((coordinator, call))
            events.schedule(.invoke(planned.count - 1), at: random.int(0...300))
        }
        for _ in 0..<random.int(configuration.collectors) {
            planned.append((random.int(0..<configuration.coordinators), .read))
            collectorPlans.insert(planned.count - 1)
            events.schedule(.invoke(planned.count - 1), at: random.int(40...500))
        }
    }

    private mutating func planFaults() {
        if configuration.driveFaults {
            for _ in 0..<random.int(0...2) {
                events.schedule(.drivePowerLoss(slot: random.int(0..<configuration.setSize)), at: random.int(0...350))
            }
            if random.chance(0.25) {
                events.schedule(.driveReset(slot: random.int(0..<configuration.setSize)), at: random.int(0...350))
            }
        }
        if configuration.coordinatorCrashes && random.chance(0.4) {
            events.schedule(.coordinatorCrash(random.int(0..<configuration.coordinators)), at: random.int(0...350))
        }
        if configuration.wildClocks {
            for _ in 0..<random.int(1...3) {
                let node = random.int(0..<(configuration.coordinators + configuration.setSize))
                let jump = random.chance(0.3) ? random.int(-3_600_000...3_600_000) : random.int(-2_000...2_000)
                events.schedule(.clockJump(node: node, byMs: jump), at: random.int(0...350))
            }
        }
    }
}
