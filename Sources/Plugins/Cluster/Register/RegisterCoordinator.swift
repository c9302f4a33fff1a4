/// Runs ``RegisterOperation``s against the replicas of one erasure set: sends each round to
/// every replica at once, feeds answers and deadlines back as they come, issues ballots from
/// the node's clock. Answers that arrive after an operation has moved on are dropped; sends
/// are never cancelled (a drive that got a request finishes it either way).
///
/// ```swift
/// let set = RegisterCoordinator(replicas: drives, clock: clock)
/// let outcome = await set.write(value, key: key, dataQuorum: 5)
/// let current = await set.read(key: key)
/// let swapped = await set.compareAndSet(key: key) { current in
///     current == nil ? .write(newValue) : .refuse
/// }
/// ```
public struct RegisterCoordinator: Sendable {
    public struct Timing: Sendable {
        /// How long a round waits for answers before counting the missing ones as unknown
        /// (for a read that already has R answers: the grace before writing back).
        public var roundTimeout: Duration = .seconds(2)
        /// The longest pause before retrying after every drive refused.
        public var maxBackoff: Duration = .milliseconds(50)
        /// A read asks R drives first and the rest only if those do not settle it (a value
        /// they show chosen needs no more): after this long, or as soon as they have answered
        /// without settling it.
        public var readSecondPhase: Duration = .milliseconds(30)

        public init() {}
    }

    public let replicas: [any RegisterReplica]
    public let clock: NodeClock
    public var timing: Timing
    /// Called with every operation that ended without a quorum (for metrics).
    public var onQuorumFailure: @Sendable () -> Void

    public init(replicas: [any RegisterReplica], clock: NodeClock, timing: Timing = Timing(), onQuorumFailure: @escaping @Sendable () -> Void = {}) {
        self.replicas = replicas
        self.clock = clock
        self.timing = timing
        self.onQuorumFailure = onQuorumFailure
    }

    private func counted(_ outcome: RegisterOperation.Outcome) -> RegisterOperation.Outcome {
        switch outcome {
        case .unavailable, .outcomeUnknown: onQuorumFailure()
        default: break
        }
        return outcome
    }

    /// `prefer`: replicas to ask first (those holding the data a GET reads next), as far as
    /// they are online; any R answers settle a read the same way.
    public func read(key: RegisterKey, prefer: [Int] = []) async -> RegisterOperation.Outcome {
        counted(await run(RegisterOperation(.read, setSize: replicas.count), key: key, prefer: prefer) { _ in .refuse })
    }

    /// A blind write (PUT, DELETE, part upload). `dataQuorum`: W_data, 0 for metadata only.
    /// `firstBallot` (issued from ``clock`` beforehand) and `attempts: 1` make a write that is
    /// proposed at that one ballot and never started again under another: an operation that
    /// prepares above it afterwards fences it for good (a multipart Complete, which an Abort
    /// settles that way). Recovery after a partial accept still runs; it only ever proposes
    /// the newest value it finds.
    public func write(
        _ value: RegisterValue, key: RegisterKey, dataQuorum: Int = 0, firstBallot: Ballot? = nil, attempts: Int = 4
    ) async -> RegisterOperation.Outcome {
        counted(await run(
            RegisterOperation(.blindWrite(value), setSize: replicas.count, dataQuorum: dataQuorum, attempts: attempts), key: key,
            firstBallot: firstBallot) { _ in .refuse })
    }

    /// A conditional write: `decide` sees the current value (nil: never written) and returns
    /// the value to write or `.refuse` (then the outcome is `preconditionFailed`).
    /// `firstBallot` and `attempts`: as for ``write(_:key:dataQuorum:firstBallot:attempts:)``.
    public func compareAndSet(
        key: RegisterKey, dataQuorum: Int = 0, firstBallot: Ballot? = nil, attempts: Int = 4,
        decide: @escaping @Sendable (AcceptedValue?) -> RegisterOperation.Decision
    ) async -> RegisterOperation.Outcome {
        counted(await run(
            RegisterOperation(.conditionalWrite, setSize: replicas.count, dataQuorum: dataQuorum, attempts: attempts), key: key,
            firstBallot: firstBallot, decide: decide))
    }

    /// The drives' bound on how far ahead a ballot may be (AcceptorRules.Context).
    static let maxClockOffsetMs: UInt64 = 500
    /// Past this, a clock that far ahead is a fault to report, not a wait.
    static let longestClockWait: Duration = .seconds(2)

    private enum Event: Sendable {
        case delivery(round: Int, slot: Int, Delivery)
        case secondPhase(round: Int)
        case deadline(round: Int)
    }

    /// The drives a read has not asked yet, and those it is waiting on.
    private struct ReadPhase {
        let round: Int
        var waiting: Set<Int>
        var deferred: [Int]
    }

    /// Which replicas a read round asks first: R in rotation, starting at a different
    /// online drive each time so reads spread over the set.
    private func firstReaders(_ count: Int, prefer: [Int]) -> (first: [Int], rest: [Int]) {
        let online = replicas.indices.filter { replicas[$0].isOnline }
        guard online.count > count else { return (Array(replicas.indices), []) }
        var first = prefer.filter { replicas.indices.contains($0) && replicas[$0].isOnline }.prefix(count).map { $0 }
        guard first.count < count else { return (first, replicas.indices.filter { !first.contains($0) }) }
        // Rotation without a system random call (getrandom is a syscall on every read).
        let start = Int(truncatingIfNeeded: ContinuousClock.now.hashValue & 0x7FFF_FFFF) % online.count
        for offset in 0..<online.count where first.count < count {
            let slot = online[(start + offset) % online.count]
            if !first.contains(slot) { first.append(slot) }
        }
        let chosen = Set(first)
        return (first, replicas.indices.filter { !chosen.contains($0) })
    }

    private func send(_ request: AcceptorRequest, round: Int?, to slots: [Int], key: RegisterKey, sink: AsyncStream<Event>.Continuation) async {
        for slot in slots {
            let replica = replicas[slot]
            if replica.answersInPlace(request) {
                let delivery = await replica.handle(request, key: key)
                if let round { sink.yield(.delivery(round: round, slot: slot, delivery)) }
                continue
            }
            Task {
                let delivery = await replica.handle(request, key: key)
                if let round { sink.yield(.delivery(round: round, slot: slot, delivery)) }
            }
        }
    }

    private func run(
        _ operation: RegisterOperation, key: RegisterKey, prefer: [Int] = [], firstBallot: Ballot? = nil,
        decide: @escaping @Sendable (AcceptedValue?) -> RegisterOperation.Decision
    ) async -> RegisterOperation.Outcome {
        // Fail before sending anything when too few drives are in rotation for a quorum:
        // then the 503 leaves nothing behind that a later read could write back.
        let online = replicas.reduce(0) { $0 + ($1.isOnline ? 1 : 0) }
        let needed = operation.kind == .read ? operation.readQuorum : max(operation.quorum, operation.dataQuorum)
        guard online >= needed else {
            return .unavailable("\(online) of \(replicas.count) drives are online; this operation needs \(needed)")
        }
        var op = operation
        let (events, sink) = AsyncStream<Event>.makeStream()
        let wheel = DeadlineWheel.shared
        var deadlines: [UInt64] = []
        var readPhase: ReadPhase?
        /// The last ballot proposed, and how long drives need before they accept it: a node
        /// that restarted several times within moments resumes ballots above its
        /// reservations, ahead of the wall clock; drives refuse those (clockAhead) until
        /// their clocks catch up, so the retry waits that long instead of failing.
        var proposed: Ballot?
        var clockWait: Duration = .zero
        defer {
            for token in deadlines { wheel.cancel(token) }
            sink.finish()
        }
        var preset = firstBallot
        var pending = op.start()
        var iterator = events.makeAsyncIterator()
        while true {
            var next: [RegisterOperation.Action] = []
            for action in pending {
                switch action {
                case .finish(let outcome):
                    return outcome
                case .send(let round, let request):
                    if let ballot = request.proposedBallot { proposed = ballot }
                    var slots = Array(replicas.indices)
                    readPhase = nil
                    if case .read = request, let round {
                        let (first, rest) = firstReaders(op.readQuorum, prefer: prefer)
                        slots = first
                        if !rest.isEmpty { readPhase = ReadPhase(round: round, waiting: Set(first), deferred: rest) }
                    }
                    await send(request, round: round, to: slots, key: key, sink: sink)
                    if let round {
                        for token in deadlines { wheel.cancel(token) }
                        deadlines = [wheel.schedule(after: timing.roundTimeout) { sink.yield(.deadline(round: round)) }]
                        if readPhase != nil {
                            deadlines.append(wheel.schedule(after: timing.readSecondPhase) { sink.yield(.secondPhase(round: round)) })
                        }
                    }
                case .issueBallot(let above, let backoff):
                    if let ballot = preset, above == nil {
                        preset = nil
                        next += op.proceed(ballot: ballot)
                        continue
                    }
                    preset = nil
                    if backoff {
                        let jitter = timing.maxBackoff * Double.random(in: 0.2...1)
                        try? await Task.sleep(for: max(jitter, min(clockWait, Self.longestClockWait)))
                        clockWait = .zero
                    }
                    do {
                        next += op.proceed(ballot: try await clock.issue(above: above))
                    } catch {
                        // The reservation could not be made durable: no ballot can be issued.
                        let reason = "cannot persist the clock reservation: \(error)"
                        return op.mayHaveTakenEffect ? .outcomeUnknown(reason) : .unavailable(reason)
                    }
                case .evaluate(let current):
                    next += op.decide(decide(current))
                }
            }
            if !next.isEmpty {
                pending = next
                continue
            }
            guard let event = await iterator.next() else { return .outcomeUnknown("the operation was cancelled") }
            switch event {
            case .delivery(let round, let slot, let delivery):
                if case .reply(.rejected(let top, _)) = delivery { clock.observe(top) }
                if case .reply(.clockAhead(let driveMs)) = delivery, let proposed, proposed.ms > driveMs + Self.maxClockOffsetMs {
                    clockWait = max(clockWait, .milliseconds(Int64(proposed.ms - driveMs - Self.maxClockOffsetMs) + 5))
                }
                pending = op.receive(round: round, slot: slot, delivery)
                if var phase = readPhase, phase.round == round, pending.isEmpty {
                    // The first readers answered without settling the read (or one could
                    // not answer): ask the others now rather than at the timer.
                    phase.waiting.remove(slot)
                    let settledNothing: Bool
                    if case .reply(.state) = delivery { settledNothing = phase.waiting.isEmpty } else { settledNothing = true }
                    readPhase = phase
                    if settledNothing {
                        readPhase = nil
                        await send(.read, round: round, to: phase.deferred, key: key, sink: sink)
                    }
                }
            case .secondPhase(let round):
                if let phase = readPhase, phase.round == round {
                    readPhase = nil
                    await send(.read, round: round, to: phase.deferred, key: key, sink: sink)
                }
            case .deadline(let round):
                pending = op.expire(round: round)
            }
        }
    }
}
