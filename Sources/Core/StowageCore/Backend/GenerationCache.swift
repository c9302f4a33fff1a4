import Synchronization

/// Recently read values (object rows, small object bodies) by key, consistent with concurrent
/// writers without holding a lock across the read of the source.
///
/// Each key belongs to one of 256 stripes with a generation counter. A writer, once its change
/// is committed, calls ``invalidate(_:)``, which drops the entry and bumps the stripe's
/// generation. A reader notes the ``generation(_:)`` before reading the source and stores what
/// it read only if the generation is unchanged, so a value read before a concurrent commit can
/// never be cached after it.
///
/// ```swift
/// if let hit = cache.lookup(key) { return hit }
/// let generation = cache.generation(key)
/// let row = try index.read(key)
/// cache.store(row, for: key, readAt: generation)
/// ```
public final class GenerationCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var entries: [Key: Value] = [:]
        var generations = [UInt64](repeating: 0, count: stripes)
        var cost = 0
    }

    static var stripes: Int { 256 }
    public let capacity: Int
    public let costBudget: Int
    private let cost: @Sendable (Value) -> Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - capacity: entries kept at most.
    ///   - costBudget: the sum of `cost` kept at most (bytes of cached bodies, say).
    public init(capacity: Int, costBudget: Int = .max, cost: @escaping @Sendable (Value) -> Int = { _ in 0 }) {
        self.capacity = capacity
        self.costBudget = costBudget
        self.cost = cost
    }

    private static func stripe(_ key: Key) -> Int {
        var hasher = Hasher()
        hasher.combine(key)
        return Int(UInt(bitPattern: hasher.finalize()) % UInt(stripes))
    }

    public func lookup(_ key: Key) -> Value? {
        state.withLock { $0.entries[key] }
    }

    /// The generation to pass to ``store(_:for:readAt:)`` for a read that starts now.
    public func generation(_ key: Key) -> UInt64 {
        let stripe = Self.stripe(key)
        return state.withLock { $0.generations[stripe] }
    }

    /// Keeps `value`, unless a writer invalidated the key's stripe since `generation` was taken.
    public func store(_ value: Value, for key: Key, readAt generation: UInt64) {
        let stripe = Self.stripe(key)
        let size = cost(value)
        state.withLock { state in
            guard state.generations[stripe] == generation else { return }
            if state.entries.count >= capacity || state.cost + size > costBudget {
                // Drop an eighth of the entries; which ones hardly matters for a hot-object cache.
                for stale in Array(state.entries.keys.prefix(max(capacity / 8, 1))) { remove(stale, from: &state) }
            }
            remove(key, from: &state)
            state.entries[key] = value
            state.cost += size
        }
    }

    private func remove(_ key: Key, from state: inout State) {
        if let old = state.entries.removeValue(forKey: key) { state.cost -= cost(old) }
    }

    /// Drops the key and bumps its stripe's generation: call it after committing a change.
    public func invalidate(_ key: Key) {
        let stripe = Self.stripe(key)
        state.withLock { state in
            remove(key, from: &state)
            state.generations[stripe] &+= 1
        }
    }

    /// Drops every key `matching` (a deleted bucket's) and bumps every generation.
    public func invalidateAll(where matching: (Key) -> Bool) {
        state.withLock { state in
            for key in state.entries.keys where matching(key) { remove(key, from: &state) }
            for index in state.generations.indices { state.generations[index] &+= 1 }
        }
    }
}
