import Foundation

/// A drive's operation record (issue 12 §2): errors, latency and operations still running,
/// and when they say the drive must leave rotation. Pure: the caller supplies the clock.
///
/// ```swift
/// var tracker = DriveHealthTracker()
/// let id = tracker.begin(at: .now)
/// if case .takeOut(let reason) = tracker.end(id, at: .now, error: "EIO") { /* out of rotation */ }
/// tracker.overdue(at: .now)   // "an operation has run for 12 s" once one passes the deadline
/// ```
struct DriveHealthTracker: Sendable {
    struct Policy: Sendable {
        /// Failures in a row that take a drive out of rotation (one slow or failed request
        /// alone does not).
        var consecutiveFailures = 3
        /// Failures among the last ten operations that do too: a full drive fails every
        /// shard write while the catalog commits between them still succeed.
        var failuresInLastTen = 5
        /// An operation running longer than this takes the drive out until it returns.
        var operationDeadline: Duration = .seconds(10)
    }

    enum Verdict: Sendable, Equatable {
        case fine
        case takeOut(String)
    }

    let policy: Policy
    private(set) var operations = 0
    private(set) var errors = 0
    private(set) var consecutiveFailures = 0
    private(set) var lastError: String?
    /// The last ten outcomes, newest in bit 0 (1: failed).
    private var recent: UInt16 = 0
    /// Exponentially weighted mean latency of successful operations, in milliseconds.
    private(set) var meanLatencyMs = 0.0
    private var running: [UInt64: ContinuousClock.Instant] = [:]
    private var nextID: UInt64 = 0

    init(policy: Policy = Policy()) { self.policy = policy }

    mutating func begin(at now: ContinuousClock.Instant) -> UInt64 {
        nextID += 1
        running[nextID] = now
        return nextID
    }

    /// Ends an operation begun with ``begin(at:)``; `error` is nil on success.
    mutating func end(_ id: UInt64, at now: ContinuousClock.Instant, error: String?) -> Verdict {
        let started = running.removeValue(forKey: id)
        return record(latency: started.map { now - $0 }, error: error)
    }

    /// An outcome timed elsewhere (a shard write inside the erasure writer).
    mutating func record(latency: Duration?, error: String?) -> Verdict {
        operations += 1
        recent = (recent << 1 | (error == nil ? 0 : 1)) & 0x3FF
        guard let error else {
            consecutiveFailures = 0
            if let latency {
                let ms = Double(latency.components.seconds) * 1_000 + Double(latency.components.attoseconds) / 1e15
                meanLatencyMs = operations == 1 ? ms : meanLatencyMs * 0.9 + ms * 0.1
            }
            return .fine
        }
        errors += 1
        consecutiveFailures += 1
        lastError = error
        if consecutiveFailures >= policy.consecutiveFailures {
            return .takeOut("\(consecutiveFailures) operations failed in a row, the last with: \(error)")
        }
        let failures = recent.nonzeroBitCount
        guard failures >= policy.failuresInLastTen else { return .fine }
        return .takeOut("\(failures) of the last 10 operations failed, the last with: \(error)")
    }

    /// Why the drive must stay out while an operation exceeds the deadline (nil: none does).
    func overdue(at now: ContinuousClock.Instant) -> String? {
        guard let oldest = running.values.min(), now - oldest > policy.operationDeadline else { return nil }
        return "an operation has run for \(now - oldest), past the \(policy.operationDeadline) deadline"
    }

    /// Back in rotation after a good probe: past failures no longer count toward the next.
    mutating func restored() {
        consecutiveFailures = 0
        recent = 0
    }

    /// For health and clusterStatus: "12 ops, 0 errors, mean 0.4 ms".
    var summary: String {
        var text = "\(operations) operations, \(errors) errors, mean latency \(String(format: "%.2f", meanLatencyMs)) ms"
        if let lastError { text += ", last error: \(lastError)" }
        return text
    }
}
