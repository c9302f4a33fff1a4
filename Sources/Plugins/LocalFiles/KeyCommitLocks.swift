import Synchronization

/// Striped locks serialising the commit of one key (index transaction, then the rename or
/// unlink that follows it), so the file on disk always ends up matching the last committed row.
/// Held only around synchronous work that takes microseconds; never across an `await`.
public final class KeyCommitLocks: Sendable {
    private final class Stripe: Sendable {
        let mutex = Mutex(())
    }

    private let stripes: [Stripe]

    public init(count: Int = 256) {
        stripes = (0..<count).map { _ in Stripe() }
    }

    public func withLock<T>(bucketID: Int64, key: String, _ body: () throws -> T) rethrows -> T {
        var hasher = Hasher()
        hasher.combine(bucketID)
        for byte in key.utf8 { hasher.combine(byte) }
        let stripe = stripes[Int(UInt(bitPattern: hasher.finalize()) % UInt(stripes.count))]
        return try stripe.mutex.withLock { _ in try body() }
    }
}
