@testable import StowageCluster

extension RegisterSimulation {
    mutating func handle(_ event: Event) {
        switch event {
        case .invoke(let index): invoke(index)
        case .request(let op, let round, let slot, let request, let copies, let message, let incarnation):
            guard incarnation == drives[slot].incarnation,
                drives[slot].processed.insert(message).inserted || !configuration.dropsDuplicateRequests
            else { return }
            deliver(request, op: op, round: round, slot: slot, copies: copies)
        case .sync(let slot): sync(slot)
        case .reply(let op, let round, let slot, let delivery):
            guard var running = live(op) else { return }
            let actions = running.machine.receive(round: round, slot: slot, delivery)
            self.running[op] = running
            perform(actions, op: op)
        case .expire(let op, let round):
            guard var running = live(op) else { return }
            let actions = running.machine.expire(round: round)
            self.running[op] = running
            perform(actions, op: op)
        case .ballot(let op, let above): issueBallot(op: op, above: above)
        case .drivePowerLoss(let slot):
            guard drives[slot].up else { return }
            drives[slot].losePower()
            events.schedule(.driveRestart(slot: slot), at: now + random.int(20...200))
        case .driveRestart(let slot): restartDrive(slot)
        case .driveReset(let slot):
            drives[slot].resetToEmpty(abstains: configuration.rules.amnesiacDrivesAbstain)
            resets += 1
        case .coordinatorCrash(let index):
            guard coordinators[index].alive else { return }
            coordinators[index].alive = false
            coordinators[index].epoch += 1
            events.schedule(.coordinatorRestart(index), at: now + random.int(20...200))
        case .coordinatorRestart(let index): restartCoordinator(index)
        case .clockJump(let node, let ms):
            if node < coordinators.count { coordinators[node].clockOffsetMs += ms }
            else { drives[node - coordinators.count].clockOffsetMs += ms }
        case .condemn(let run, let slot, let incarnation): condemn(run: run, slot: slot, incarnation: incarnation)
        case .condemned(let run, let slot): condemned(run: run, slot: slot)
        case .collectRead(let run, let slot): collectRead(run: run, slot: slot)
        case .collectAnswer(let run, let slot, let value): collectAnswer(run: run, slot: slot, value)
        case .collectFinish(let slot, let value, let delete): collectFinish(slot: slot, value: value, delete: delete)
        case .collectTimeout(let run): collectTimeout(run: run)
        }
    }

    mutating func restartDrive(_ slot: Int) {
        drives[slot].up = true
    }

    mutating func restartCoordinator(_ index: Int) {
        guard !coordinators[index].alive else { return }
        coordinators[index].alive = true
        coordinators[index].clock = HybridLogicalClock(
            nodeIndex: UInt16(index), incarnation: UInt32(truncatingIfNeeded: random.next()),
            reservedUpToMs: coordinators[index].reservedUpToMs)
    }

    func live(_ op: Int) -> RunningOperation? {
        guard let running = running[op], coordinators[running.coordinator].epoch == running.epoch,
            coordinators[running.coordinator].alive
        else { return nil }
        return running
    }

    private func wallMs(coordinator: Int) -> UInt64 { UInt64(Self.baseMs + now + coordinators[coordinator].clockOffsetMs) }
    private func wallMs(drive: Int) -> UInt64 { UInt64(Self.baseMs + now + drives[drive].clockOffsetMs) }

    private mutating func invoke(_ index: Int) {
        var (coordinator, call) = planned[index]
        if !coordinators[coordinator].alive {
            guard let other = coordinators.indices.first(where: { coordinators[$0].alive }) else { return }
            coordinator = other
        }
        var kind: RegisterOperation.Kind
        switch call {
        case .write(let v?): kind = .blindWrite(Self.value(v))
        case .write(nil):
            kind = .blindWrite(RegisterValue(writeID: WriteID(high: 1, low: UInt64(nextValue)), tombstone: true))
            nextValue += 1
        case .compareAndSet: kind = .conditionalWrite
        case .read: kind = .read
        }
        history.append(HistoryEntry(id: history.count, coordinator: coordinator, call: call, invokedAt: now))
        var dataQuorum = 0
        if let v = call.newValue {
            // Stage first (durable before any accept); without W_data drives the write is
            // refused before the register sees it, and its staging is discarded.
            dataQuorum = configuration.dataQuorum
            writers[v] = index
            var staged = 0
            for slot in drives.indices where drives[slot].up && !(faultsOn && random.chance(0.03)) {
                drives[slot].data.insert(v)
                staged += 1
            }
            if staged < dataQuorum {
                discard(v)
                history[history.count - 1].returnedAt = now
                history[history.count - 1].result = .unavailable
                return
            }
        }
        if collectorPlans.contains(index) { startCollector(index) }
        // The collector's settling read: a conditional write of whatever is current.
        if collectorRuns[index] != nil { kind = .conditionalWrite }
        let machine = RegisterOperation(
            kind, setSize: configuration.setSize, dataQuorum: dataQuorum, attempts: 4, rules: configuration.rules)
        running[index] = RunningOperation(
            machine: machine, entry: history.count - 1, coordinator: coordinator, epoch: coordinators[coordinator].epoch)
        let actions = running[index]!.machine.start()
        perform(actions, op: index)
    }

    static func value(_ v: Int) -> RegisterValue {
        RegisterValue(writeID: WriteID(high: 0, low: UInt64(v)), dataRef: dataRef(v))
    }

    static func dataRef(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(v).littleEndian) { Array($0) } }

    static func number(_ value: AcceptedValue?) -> Int? {
        guard let value, !value.value.tombstone else { return nil }
        return Int(value.value.writeID.low)
    }

    private mutating func perform(_ actions: [RegisterOperation.Action], op: Int) {
        for action in actions {
            switch action {
            case .send(let round, let request): send(request, op: op, round: round)
            case .issueBallot(let above, let backoff):
                events.schedule(.ballot(op: op, above: above), at: now + (backoff ? random.int(2...25) : 0))
            case .evaluate(let current) where collectorRuns[op] != nil:
                let tombstone = RegisterValue(writeID: WriteID(high: 1, low: UInt64(nextValue)), tombstone: true)
                nextValue += 1
                let next = running[op]!.machine.decide(.write(current?.value ?? tombstone))
                perform(next, op: op)
            case .evaluate(let current):
                guard case .compareAndSet(let expect, let new) = history[running[op]!.entry].call else { return }
                let decision: RegisterOperation.Decision = Self.number(current) == expect ? .write(Self.value(new)) : .refuse
                let next = running[op]!.machine.decide(decision)
                perform(next, op: op)
            case .finish(let outcome): finish(op, outcome)
            }
        }
    }

    private mutating func send(_ request: AcceptorRequest, op: Int, round: Int?) {
        // A coordinator paused past its deadline sends late, as if no time had passed for it.
        let pause = faultsOn && random.chance(configuration.pauseRate) ? random.int(80...300) : 0
        for slot in drives.indices {
            if faultsOn && random.chance(configuration.dropRate) { continue }
            let copies = faultsOn && random.chance(configuration.duplicateRate) ? 2 : 1
            let message = nextMessage
            nextMessage += 1
            for copy in 0..<copies {
                let delay = networkDelay() * (copy == 0 ? 1 : 3)
                let event = Event.request(
                    op: op, round: round ?? -1, slot: slot, request, copies: copies, message: message,
                    incarnation: drives[slot].incarnation)
                events.schedule(event, at: now + pause + delay)
            }
        }
        if let round { events.schedule(.expire(op: op, round: round), at: now + pause + Self.timeoutMs) }
    }

    mutating func networkDelay() -> Int {
        faultsOn && random.chance(0.05) ? random.int(40...150) : random.int(1...10)
    }

    private mutating func issueBallot(op: Int, above: Ballot?) {
        guard var running = live(op) else { return }
        let c = running.coordinator
        var ballot: Ballot?
        while ballot == nil {
            switch coordinators[c].clock.issue(wallMs: wallMs(coordinator: c), above: above) {
            case .ballot(let issued): ballot = issued
            case .reserve(let upTo):
                coordinators[c].reservedUpToMs = max(coordinators[c].reservedUpToMs, upTo)
                coordinators[c].clock.reserved(upToMs: upTo)
            }
        }
        let actions = running.machine.proceed(ballot: ballot!)
        self.running[op] = running
        perform(actions, op: op)
    }

    private mutating func finish(_ op: Int, _ outcome: RegisterOperation.Outcome) {
        guard let running = running.removeValue(forKey: op) else { return }
        var entry = history[running.entry]
        entry.returnedAt = now
        switch (entry.call, outcome) {
        case (.read, .found(let value)):
            entry.result = .value(Self.number(value))
            checkServed(value, op: op)
        case (.read, .written(let value)):
            // A settling read: the value it made chosen, which a read may return.
            entry.result = .value(Self.number(value))
            checkServed(value, op: op)
        case (.read, _): entry.result = .unknown
        case (_, .written): entry.result = .ok
        case (_, .preconditionFailed): entry.result = .preconditionFailed
        case (_, .unavailable):
            entry.result = .unavailable
            // The backend discards the staging of a write nothing applied.
            if let v = entry.call.newValue { discard(v) }
        case (_, .outcomeUnknown), (_, .found): entry.result = .unknown
        }
        history[running.entry] = entry
        guard collectorRuns[op] != nil else { return }
        switch outcome {
        case .found(let value): collectorRead(op, found: value)
        case .written(let value): collectorRead(op, found: value)
        default: collectorRuns[op] = nil
        }
    }

    // MARK: - Drives

    private mutating func deliver(_ request: AcceptorRequest, op: Int, round: Int, slot: Int, copies: Int) {
        guard drives[slot].up else {
            // Refused at once (the node is down). With another copy in flight the sender cannot
            // know that none arrives, so it sees a timeout instead.
            if round >= 0 && copies == 1 {
                events.schedule(.reply(op: op, round: round, slot: slot, .notDelivered), at: now + networkDelay())
            }
            return
        }
        var context = AcceptorRules.Context(wallMs: wallMs(drive: slot), isVoter: drives[slot].voter)
        switch request {
        case .accept(_, let value, _), .commit(_, let value):
            let v = Int(value.writeID.low)
            context.dataPresent = drives[slot].data.contains(v) && !drives[slot].condemned.contains(v)
        default: break
        }
        if case .read = request, configuration.rules.replyAfterDurable {
            // As the catalog does: a read answers at once from committed, durable state.
            let step = AcceptorRules.handle(request, record: drives[slot].durable, context: context, rules: configuration.rules)
            if round >= 0, !(faultsOn && random.chance(configuration.dropRate)) {
                events.schedule(.reply(op: op, round: round, slot: slot, .reply(step.reply)), at: now + networkDelay())
            }
            return
        }
        let step = AcceptorRules.handle(request, record: drives[slot].volatile, context: context, rules: configuration.rules)
        if let record = step.record {
            if configuration.rules.acceptRaisesPromised, let accepted = record.accepted, record.promised < accepted.ballot {
                violations.append("drive \(slot): promised \(record.promised) below accepted \(accepted.ballot)")
            }
            if let b = request.proposedBallot, b.ms > context.wallMs + context.maxClockOffsetMs {
                violations.append("drive \(slot): stored ballot \(b) ahead of its clock \(context.wallMs)")
            }
            drives[slot].volatile = record
        }
        if round >= 0 {
            if configuration.rules.replyAfterDurable {
                drives[slot].waiting.append((op, round, step.reply))
            } else {
                events.schedule(.reply(op: op, round: round, slot: slot, .reply(step.reply)), at: now + networkDelay())
            }
        }
        scheduleSync(slot)
    }

    mutating func scheduleSync(_ slot: Int) {
        guard !drives[slot].syncScheduled else { return }
        drives[slot].syncScheduled = true
        events.schedule(.sync(slot: slot), at: now + random.int(0...4))
    }

    /// The group commit: the open transaction becomes durable, then the answers go out.
    private mutating func sync(_ slot: Int) {
        guard drives[slot].up, drives[slot].syncScheduled else { return }
        drives[slot].syncScheduled = false
        drives[slot].durable = drives[slot].volatile
        drives[slot].condemnedDurable = drives[slot].condemned
        for run in drives[slot].condemnWaiting where !(faultsOn && random.chance(configuration.dropRate)) {
            events.schedule(.condemned(run: run, slot: slot), at: now + networkDelay())
        }
        drives[slot].condemnWaiting.removeAll()
        for waiting in drives[slot].waiting {
            if faultsOn && random.chance(configuration.dropRate) { continue }
            events.schedule(
                .reply(op: waiting.op, round: waiting.round, slot: slot, .reply(waiting.reply)), at: now + networkDelay())
        }
        drives[slot].waiting.removeAll()
    }
}
