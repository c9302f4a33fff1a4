#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process's open-file limit. A server holds a descriptor per connection and per file in
/// use; the usual soft limit of 1,024 is far below what the hard limit allows, so `stowage
/// serve` raises it at start and logs both.
///
/// ```swift
/// if let limit = OpenFileLimit.raiseToHardLimit() { print("open files: \(limit.soft) of \(limit.hard)") }
/// ```
public enum OpenFileLimit {
    public struct Limits: Sendable, Equatable {
        /// The soft limit before the call.
        public var previous: UInt64
        /// The soft limit now.
        public var soft: UInt64
        public var hard: UInt64
    }

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit; `nil` if the limits cannot be read.
    @discardableResult
    public static func raiseToHardLimit() -> Limits? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let previous = UInt64(limit.rlim_cur)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Limits(previous: previous, soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }
}
