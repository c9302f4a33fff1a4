public import StowageCore

/// The faults an ``InProcessNetwork`` injects, drawn from a seed so that a failing run of the
/// simulator replays exactly.
///
/// Every send is decided on its own, from `(seed, sender, receiver, n)` where `n` counts the
/// sends issued on that link (sender to receiver) since the network was created. Nothing else
/// feeds the decision: no process-wide randomness, no clock, no other link's traffic. So the
/// decisions are reproducible per link whenever each link's sends are issued in the same order;
/// a scheduler that orders every send (the simulator) reproduces the whole run.
///
/// Duplicates replay the request body from memory: only bodies with a declared length of at
/// most ``maxDuplicatedBody`` are duplicated. Larger bodies, and bodies of unknown length, are
/// never duplicated (the decision is then ignored), so a duplicate never buffers an object.
///
/// ```swift
/// let plan = FaultPlan(seed: 42, dropRequest: 0.01, dropReply: 0.01, duplicate: 0.05,
///                      delay: Duration.milliseconds(1) ... Duration.milliseconds(20),
///                      delayProbability: 0.2)
/// let network = InProcessNetwork(faults: plan)
/// ```
public struct FaultPlan: Sendable {
    /// Selects the schedule; the same seed gives the same decisions.
    public var seed: UInt64
    /// The chance a request is lost before it arrives: the handler never runs and the sender
    /// gets `notDelivered`.
    public var dropRequest: Double
    /// The chance a reply is lost after the handler ran: the sender gets `outcomeUnknown`, the
    /// case protocols must survive without re-applying.
    public var dropReply: Double
    /// The chance the handler receives the request twice (the second answer is discarded), as
    /// a retransmission would; see ``maxDuplicatedBody``.
    public var duplicate: Double
    /// How long a delayed request waits before it is delivered; concurrent requests overtake
    /// it, which is how requests get reordered.
    public var delay: ClosedRange<Duration>
    /// The chance a request is delayed by a duration drawn from ``delay``.
    public var delayProbability: Double
    /// The largest declared body length that may be duplicated; such bodies are collected into
    /// memory to be delivered twice. Larger bodies are never duplicated.
    public var maxDuplicatedBody: Int

    /// Probabilities lie in `0...1`; `delay` must not start below zero.
    public init(
        seed: UInt64 = 0,
        dropRequest: Double = 0,
        dropReply: Double = 0,
        duplicate: Double = 0,
        delay: ClosedRange<Duration> = Duration.zero ... Duration.zero,
        delayProbability: Double = 0,
        maxDuplicatedBody: Int = 1 << 20
    ) {
        for probability in [dropRequest, dropReply, duplicate, delayProbability] {
            precondition((0.0...1.0).contains(probability), "fault probabilities lie in 0...1")
        }
        precondition(delay.lowerBound >= .zero, "a delay cannot be negative")
        precondition(maxDuplicatedBody >= 0, "maxDuplicatedBody cannot be negative")
        self.seed = seed
        self.dropRequest = dropRequest
        self.dropReply = dropReply
        self.duplicate = duplicate
        self.delay = delay
        self.delayProbability = delayProbability
        self.maxDuplicatedBody = maxDuplicatedBody
    }

    /// A network that never misbehaves on its own (partitions still apply).
    public static let none = FaultPlan()

    /// What happens to the `sequence`-th send (from 0) from `sender` to `receiver`. Pure, so the
    /// simulator can predict or log a schedule without sending anything.
    public func decide(from sender: NodeID, to receiver: NodeID, sequence: UInt64) -> FaultDecision {
        var key = SplitMix64.mix(seed)
        key = SplitMix64.mix(key ^ Self.fnv1a(sender.rawValue))
        key = SplitMix64.mix(key ^ Self.fnv1a(receiver.rawValue))
        key = SplitMix64.mix(key ^ sequence)
        var generator = SplitMix64(state: key)
        // Every draw is taken whatever the probabilities, in a fixed order, so changing one
        // probability does not shift the draws behind the others.
        let dropRequestDraw = generator.nextUnit()
        let delayDraw = generator.nextUnit()
        let delayAmount = generator.next()
        let duplicateDraw = generator.nextUnit()
        let dropReplyDraw = generator.nextUnit()
        return FaultDecision(
            dropRequest: dropRequestDraw < dropRequest,
            dropReply: dropReplyDraw < dropReply,
            duplicate: duplicateDraw < duplicate,
            delay: delayDraw < delayProbability ? Self.pick(in: delay, using: delayAmount) : nil
        )
    }

    /// A duration in `range` at nanosecond granularity, in integers so that every platform
    /// picks the same one.
    static func pick(in range: ClosedRange<Duration>, using random: UInt64) -> Duration {
        let lower = nanoseconds(range.lowerBound)
        let upper = nanoseconds(range.upperBound)
        // Both bounds are non-negative, so the width fits and `width + 1` cannot overflow.
        let width = UInt64(upper - lower)
        return .nanoseconds(lower + Int64(random % (width + 1)))
    }

    /// Whole nanoseconds in a non-negative duration, saturating rather than trapping on
    /// absurdly long ones.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowAgain ? .max : total
    }

    /// FNV-1a over the UTF-8 bytes: `Hasher` is seeded per process, which would make every run
    /// different.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}

/// The faults chosen for one send; see ``FaultPlan/decide(from:to:sequence:)``.
public struct FaultDecision: Sendable, Hashable {
    /// The request is lost before the handler sees it.
    public var dropRequest: Bool
    /// The handler runs but its reply is lost.
    public var dropReply: Bool
    /// The handler receives the request twice (when the body is small enough to replay).
    public var duplicate: Bool
    /// How long the request waits before delivery, if it is delayed.
    public var delay: Duration?

    /// A decision made by hand, for tests and for logs the simulator compares against.
    public init(dropRequest: Bool = false, dropReply: Bool = false, duplicate: Bool = false, delay: Duration? = nil) {
        self.dropRequest = dropRequest
        self.dropReply = dropReply
        self.duplicate = duplicate
        self.delay = delay
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, pure and good enough to turn a key into a few
/// independent-looking draws.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A draw in `0..<1` from the top 53 bits, so `draw < 1.0` always holds and a probability
    /// of 1 always fires, 0 never.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// The SplitMix64 finalizer: a bijective scramble of 64 bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
