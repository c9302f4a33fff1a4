@testable import StowageCluster

/// The collector of CLUSTER.md §3 ("data lifetime is by reference") inside the simulation:
/// it runs concurrently with writes, retries and write-backs, and its verdict comes from the
/// production ``DataCollectionRule``. The assertions: a value a read serves never had its
/// data collected, and is still held by at least k drives.
extension RegisterSimulation {
    /// Picks a value with data on some drive; the run's register read is the operation
    /// already under way for `op`.
    mutating func startCollector(_ op: Int) {
        var candidates: Set<Int> = []
        for drive in drives { candidates.formUnion(drive.data) }
        let sorted = candidates.subtracting(collected).sorted()
        guard !sorted.isEmpty else { return }
        collectorRuns[op] = CollectorRun(target: sorted[random.int(0..<sorted.count)])
    }

    /// (a) and (b): the writer is fenced and the key's chosen value is known; condemn the
    /// data on every drive before reading them all.
    mutating func collectorRead(_ op: Int, found: AcceptedValue?) {
        guard var run = collectorRuns[op] else { return }
        if let writer = writers[run.target], live(writer) != nil {
            collectorRuns[op] = nil
            return
        }
        run.chosen = found
        collectorRuns[op] = run
        events.schedule(.collectTimeout(run: op), at: now + 250)
        for slot in drives.indices where !configuration.collectorCondemnsFirst {
            events.schedule(.collectRead(run: op, slot: slot), at: now + networkDelay())
        }
        for slot in drives.indices where configuration.collectorCondemnsFirst && !(faultsOn && random.chance(configuration.dropRate)) {
            events.schedule(.condemn(run: op, slot: slot, incarnation: drives[slot].incarnation), at: now + networkDelay())
        }
    }

    mutating func condemn(run: Int, slot: Int, incarnation: Int) {
        guard drives[slot].up, drives[slot].incarnation == incarnation, let target = collectorRuns[run]?.target else { return }
        drives[slot].condemned.insert(target)
        drives[slot].condemnWaiting.append(run)
        scheduleSync(slot)
    }

    /// As the backend does: each drive is read once its condemnation is durable.
    mutating func condemned(run: Int, slot: Int) {
        guard collectorRuns[run] != nil, !(faultsOn && random.chance(configuration.dropRate)) else { return }
        events.schedule(.collectRead(run: run, slot: slot), at: now + networkDelay())
    }

    /// Every drive answers, voter or learner: what it has accepted, from durable state.
    mutating func collectRead(run: Int, slot: Int) {
        guard drives[slot].up else { return }
        events.schedule(.collectAnswer(run: run, slot: slot, drives[slot].durable?.accepted), at: now + networkDelay())
    }

    /// (c): the verdict over every drive's answer; then delete or release on every drive.
    mutating func collectAnswer(run: Int, slot: Int, _ value: AcceptedValue?) {
        guard var state = collectorRuns[run] else { return }
        state.answers[slot] = value
        collectorRuns[run] = state
        guard state.answers.count == drives.count else { return }
        decide(run)
    }

    mutating func collectTimeout(run: Int) {
        guard collectorRuns[run] != nil else { return }
        decide(run)
    }

    private mutating func decide(_ run: Int) {
        guard let state = collectorRuns.removeValue(forKey: run) else { return }
        let views = drives.indices.map { slot in
            state.answers[slot].map { DataCollectionRule.DriveView.accepted($0) } ?? .silent
        }
        let verdict = DataCollectionRule.verdict(
            dataRef: Self.dataRef(state.target), writerFenced: true, chosen: state.chosen, drives: views,
            rules: configuration.rules)
        for slot in drives.indices {
            events.schedule(.collectFinish(slot: slot, value: state.target, delete: verdict == .collect), at: now + networkDelay())
        }
    }

    mutating func collectFinish(slot: Int, value: Int, delete: Bool) {
        guard drives[slot].up else { return }
        drives[slot].condemned.remove(value)
        drives[slot].condemnedDurable.remove(value)
        if delete && drives[slot].data.remove(value) != nil {
            collected.insert(value)
            collections += 1
        }
    }

    /// A write refused before anything was applied: its staging goes at once.
    mutating func discard(_ v: Int) {
        for slot in drives.indices where drives[slot].data.remove(v) != nil { collected.insert(v) }
    }

    /// Invariant 1 at every answer: the served value's data was never collected and is held
    /// by W_data drives, less one for each drive reset to empty (a lost shard is the healer's
    /// to rebuild; with W_data = k+1 and one reset it stays decodable).
    mutating func checkServed(_ value: AcceptedValue?, op: Int) {
        guard let v = Self.number(value) else { return }
        if collected.contains(v) {
            violations.append("read #\(op) served value \(v), whose data was collected")
            return
        }
        let holders = drives.filter { $0.data.contains(v) }.count
        if holders < configuration.dataQuorum - resets {
            violations.append("read #\(op) served value \(v), held by \(holders) drives (W_data \(configuration.dataQuorum), \(resets) reset)")
        }
    }
}
