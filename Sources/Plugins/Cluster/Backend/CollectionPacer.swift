import Synchronization

/// A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. Pure: the
/// caller passes the time, so tests drive it without a clock.
///
/// ```swift
/// var bucket = TokenBucket(ratePerSecond: 100, burst: 10, now: .zero)
/// let wait = bucket.take(at: .milliseconds(5))   // .zero while tokens are left
/// ```
struct TokenBucket: Sendable, Equatable {
    let ratePerSecond: Double
    let burst: Double
    private(set) var tokens: Double
    private(set) var updated: Duration

    init(ratePerSecond: Double, burst: Double, now: Duration) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        tokens = burst
        updated = now
    }

    /// Takes one token at `now`; returns how long the caller must wait before using it
    /// (zero when one was saved up). Tokens taken ahead are owed: each later caller waits
    /// behind the earlier ones, so the rate holds however many callers there are.
    mutating func take(at now: Duration) -> Duration {
        guard ratePerSecond > 0 else { return .zero }
        if now > updated {
            let elapsed = Double((now - updated).components.seconds) + Double((now - updated).components.attoseconds) / 1e18
            tokens = Swift.min(burst, tokens + elapsed * ratePerSecond)
            updated = now
        }
        tokens -= 1
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / ratePerSecond * 1e9).rounded(.up)))
    }
}

/// Paces the collector's runs at ``ClusterBackend/Options/collectionRate`` a second, across
/// every task of the node that collects (the failed-write jobs and the scanner).
final class CollectionPacer: Sendable {
    private let bucket: Mutex<TokenBucket>
    private let origin = ContinuousClock.now

    /// `ratePerSecond` ≤ 0: unpaced.
    init(ratePerSecond: Double) {
        bucket = Mutex(TokenBucket(ratePerSecond: ratePerSecond, burst: Swift.max(1, ratePerSecond / 10), now: .zero))
    }

    /// Waits for this run's turn; false when the task was cancelled (shutting down).
    func admit() async -> Bool {
        let now = ContinuousClock.now - origin
        let wait = bucket.withLock { $0.take(at: now) }
        if wait > .zero { try? await Task.sleep(for: wait) }
        return !Task.isCancelled
    }
}
