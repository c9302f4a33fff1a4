import Synchronization

/// Inline shards that came back with a register read (the drive's catalog returns its shard
/// of the value's data in the same statement), kept for the GET that resolves that version
/// a moment later: a 4 KiB GET then reads one shard instead of k. Bounded by bytes; what no
/// GET takes (HEAD, a 304) is pushed out by newer entries. Shard bytes never change for a
/// version ID, so an entry cannot be stale, and the reader checks every block's CRC anyway.
final class InlinePrefetch: Sendable {
    struct Key: Hashable, Sendable {
        let dataRef: [UInt8]
        let part: Int
        let slot: Int
    }

    private struct State {
        var entries: [Key: [UInt8]] = [:]
        var order: [Key] = []
        var head = 0
        var bytes = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 4 << 20) { self.capacity = capacity }

    /// What an entry costs beyond its bytes (key, dictionary and order slots): empty shards
    /// of empty objects, which no GET takes, must still count.
    static let overhead = 96

    func put(_ key: Key, _ shard: [UInt8]) {
        guard !shard.isEmpty, shard.count <= capacity / 16 else { return }
        state.withLock { state in
            guard state.entries.updateValue(shard, forKey: key) == nil else { return }
            state.order.append(key)
            state.bytes += shard.count + Self.overhead
            while state.bytes > capacity, state.head < state.order.count {
                let old = state.order[state.head]
                state.head += 1
                if let dropped = state.entries.removeValue(forKey: old) { state.bytes -= dropped.count + Self.overhead }
            }
            // Taken entries leave their keys in `order`: drop those (and the evicted prefix)
            // once they outnumber the live entries, so the list stays proportional to them.
            if state.order.count - state.head > 2 * state.entries.count + 64 {
                state.order = state.order[state.head...].filter { state.entries[$0] != nil }
                state.head = 0
            }
        }
    }

    var count: (entries: Int, order: Int) { state.withLock { ($0.entries.count, $0.order.count - $0.head) } }

    /// The shard, removed (each read is used once).
    func take(_ key: Key) -> [UInt8]? {
        state.withLock { state in
            guard let shard = state.entries.removeValue(forKey: key) else { return nil }
            state.bytes -= shard.count + Self.overhead
            return shard
        }
    }
}
