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

        public init() {}
    }

    public let replicas: [any RegisterReplica]
    public let clock: NodeClock
    public var timing: Timing

    public init(replicas: [any RegisterReplica], clock: NodeClock, timing: Timing = Timing()) {
        self.replicas = replicas
        self.clock = clock
        self.timing = timing
    }

    public func read(key: RegisterKey) async -> RegisterOperation.Outcome {
        await run(RegisterOperation(.read, setSize: replicas.count), key: key) { _ in .refuse }
    }

    /// A blind write (PUT, DELETE, part upload). `dataQuorum`: W_data, 0 for metadata only.
    public func write(_ value: RegisterValue, key: RegisterKey, dataQuorum: Int = 0) async -> RegisterOperation.Outcome {
        await run(RegisterOperation(.blindWrite(value), setSize: replicas.count, dataQuorum: dataQuorum), key: key) { _ in .refuse }
    }

    /// A conditional write: `decide` sees the current value (nil: never written) and returns
    /// the value to write or `.refuse` (then the outcome is `preconditionFailed`).
    public func compareAndSet(
        key: RegisterKey, dataQuorum: Int = 0,
        decide: @escaping @Sendable (AcceptedValue?) -> RegisterOperation.Decision
    ) async -> RegisterOperation.Outcome {
        await run(RegisterOperation(.conditionalWrite, setSize: replicas.count, dataQuorum: dataQuorum), key: key, decide: decide)
    }

    private enum Event: Sendable {
        case delivery(round: Int, slot: Int, Delivery)
        case deadline(round: Int)
    }

    private func run(
        _ operation: RegisterOperation, key: RegisterKey,
        decide: @escaping @Sendable (AcceptedValue?) -> RegisterOperation.Decision
    ) async -> RegisterOperation.Outcome {
        // Fail before sending anything when too few drives are in rotation for a quorum:
        // then the 503 leaves nothing behind that a later read could write back.
        let online = replicas.filter(\.isOnline).count
        let needed = operation.kind == .read ? operation.readQuorum : max(operation.quorum, operation.dataQuorum)
        guard online >= needed else {
            return .unavailable("\(online) of \(replicas.count) drives are online; this operation needs \(needed)")
        }
        var op = operation
        let (events, sink) = AsyncStream<Event>.makeStream()
        var deadline: Task<Void, Never>?
        defer {
            deadline?.cancel()
            sink.finish()
        }
        var pending = op.start()
        var iterator = events.makeAsyncIterator()
        while true {
            var next: [RegisterOperation.Action] = []
            for action in pending {
                switch action {
                case .finish(let outcome):
                    return outcome
                case .send(let round, let request):
                    for (slot, replica) in replicas.enumerated() {
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
                    if let round {
                        deadline?.cancel()
                        let timeout = timing.roundTimeout
                        deadline = Task {
                            try? await Task.sleep(for: timeout)
                            if !Task.isCancelled { sink.yield(.deadline(round: round)) }
                        }
                    }
                case .issueBallot(let above, let backoff):
                    if backoff { try? await Task.sleep(for: timing.maxBackoff * Double.random(in: 0.2...1)) }
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
                pending = op.receive(round: round, slot: slot, delivery)
            case .deadline(let round):
                pending = op.expire(round: round)
            }
        }
    }
}
