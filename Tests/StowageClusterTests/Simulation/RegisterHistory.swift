/// One client operation of a simulated history on a single register. Values are small
/// integers (nil: absent or deleted).
struct HistoryEntry: CustomStringConvertible {
    enum Call: Equatable {
        case write(Int?)                 // PUT (nil: DELETE)
        case compareAndSet(expect: Int?, new: Int)  // If-Match (nil expect: If-None-Match *)
        case read

        /// The value a write would store, which has data (a DELETE's tombstone has none).
        var newValue: Int? {
            switch self {
            case .write(let v): return v
            case .compareAndSet(_, let new): return new
            case .read: return nil
            }
        }
    }

    enum Result: Equatable {
        case ok
        case preconditionFailed
        case value(Int?)
        /// 503 with nothing applied.
        case unavailable
        /// 503 "outcome unknown", a timeout, or a coordinator that crashed first.
        case unknown
    }

    let id: Int
    let coordinator: Int
    let call: Call
    let invokedAt: Int
    var returnedAt: Int?
    var result: Result = .unknown

    var description: String {
        "#\(id) c\(coordinator) \(call) [\(invokedAt), \(returnedAt.map(String.init) ?? "∞")] → \(result)"
    }
}

/// Wing–Gong linearizability search for one register, with memoisation on (done set, state).
/// Writes whose outcome is unknown may take effect at any point after their invocation, or
/// never; operations that failed with nothing applied, and reads without an answer, are left
/// out.
enum LinearizabilityChecker {
    static func check(_ history: [HistoryEntry]) -> Bool {
        let ops = history.filter { entry in
            switch entry.result {
            case .unavailable: return false
            case .unknown: return entry.call != .read
            default: return true
            }
        }
        precondition(ops.count <= 62, "history too long for the checker")
        // A write whose outcome is unknown may still take effect after it returned (a later
        // read writes it back), so its window stays open.
        let returns = ops.map { $0.result == .unknown ? Int.max : $0.returnedAt ?? Int.max }
        var failed = Set<Visit>()
        let full: UInt64 = ops.isEmpty ? 0 : (UInt64(1) << UInt64(ops.count)) - 1

        func search(_ done: UInt64, _ state: Int?) -> Bool {
            if done == full { return true }
            let visit = Visit(done: done, state: state)
            if failed.contains(visit) { return false }
            var earliestReturn = Int.max
            for i in ops.indices where done & (1 << UInt64(i)) == 0 { earliestReturn = min(earliestReturn, returns[i]) }
            for i in ops.indices where done & (1 << UInt64(i)) == 0 && ops[i].invokedAt <= earliestReturn {
                let next = done | (1 << UInt64(i))
                for after in outcomes(of: ops[i], from: state) where search(next, after) { return true }
            }
            failed.insert(visit)
            return false
        }
        return search(0, nil)
    }

    private struct Visit: Hashable {
        let done: UInt64
        let state: Int?
    }

    /// The states `entry` can leave when applied to `state` (empty: it cannot apply here).
    private static func outcomes(of entry: HistoryEntry, from state: Int?) -> [Int?] {
        switch (entry.call, entry.result) {
        case (.write(let v), .ok): return [v]
        case (.write(let v), _): return [v, state]  // unknown: applied here, or never
        case (.read, .value(let seen)): return seen == state ? [state] : []
        case (.read, _): return []
        case (.compareAndSet(let expect, let new), .ok): return expect == state ? [new] : []
        case (.compareAndSet(let expect, _), .preconditionFailed): return expect != state ? [state] : []
        case (.compareAndSet(let expect, let new), _): return expect == state ? [new, state] : [state]
        }
    }
}
