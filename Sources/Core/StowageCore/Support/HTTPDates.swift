import Synchronization

/// Memoised HTTP-date strings, the one cache of them: every response's `Date` is the current
/// second, and hot objects are served with the same `Last-Modified` again and again; formatting
/// a date costs more than looking it up.
///
/// ```swift
/// headers[.date] = HTTPDates.now()
/// headers[.lastModified] = HTTPDates.format(info.lastModified)
/// ```
public enum HTTPDates {
    private static let slots = 256
    private static let cache = Mutex<[(second: Int64, text: String)]>(Array(repeating: (Int64.min, ""), count: slots))

    public static func format(_ timestamp: S3Timestamp) -> String {
        let second = timestamp.secondsSinceEpoch
        let slot = Int(UInt64(bitPattern: second) % UInt64(slots))
        if let hit = cache.withLock({ $0[slot].second == second ? $0[slot].text : nil }) { return hit }
        let text = timestamp.httpDate
        cache.withLock { $0[slot] = (second, text) }
        return text
    }

    /// The current second as an HTTP date (the `Date` header).
    public static func now() -> String { format(.now) }
}
