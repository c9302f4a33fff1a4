import NIOCore

/// One direction of a connection's transfer, for the timeout rules: progress is bytes moved,
/// at least `minimumBytes` within each timeout period (an average of 1 KiB/s at the least).
/// A peer that keeps a body or a download alive a byte at a time does not count as moving, so
/// it is cut off; one that moves steadily, however slowly above that floor, never is.
///
/// ```swift
/// var inbound = ProgressClock(timeout: .seconds(300), now: .now())
/// inbound.moved(16_384, now: .now())
/// if inbound.isStalled(now: .now()) { /* 400 RequestTimeout */ }
/// ```
struct ProgressClock {
    /// The slowest average rate that counts as progress.
    static let minimumBytesPerSecond: Int64 = 1024

    let timeout: TimeAmount
    let minimumBytes: Int64
    private(set) var lastProgress: NIODeadline
    private var sinceProgress: Int64 = 0
    private var observedTotal: Int64 = 0

    init(timeout: TimeAmount, now: NIODeadline) {
        self.timeout = timeout
        let seconds = max(1, timeout.nanoseconds / 1_000_000_000)
        self.minimumBytes = Self.minimumBytesPerSecond * seconds
        self.lastProgress = now
    }

    /// A new phase begins (a new request, a new response): the clock starts again.
    mutating func restart(now: NIODeadline) {
        lastProgress = now
        sinceProgress = 0
        observedTotal = 0
    }

    /// `bytes` more moved.
    mutating func moved(_ bytes: Int64, now: NIODeadline) {
        guard bytes > 0 else { return }
        sinceProgress += bytes
        if sinceProgress >= minimumBytes {
            lastProgress = now
            sinceProgress = 0
        }
    }

    /// The running total of bytes moved in this phase, as observed (for example enqueued
    /// minus still buffered): counts what it adds since the last observation.
    mutating func observe(total: Int64, now: NIODeadline) {
        if total > observedTotal { moved(total - observedTotal, now: now) }
        observedTotal = max(observedTotal, total)
    }

    /// The phase finished a unit of work (a whole body chunk written): progress, whatever its size.
    mutating func completed(now: NIODeadline) {
        lastProgress = now
        sinceProgress = 0
    }

    func isStalled(now: NIODeadline) -> Bool { now - lastProgress > timeout }
}
