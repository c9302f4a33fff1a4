import NIOCore
import Synchronization

/// Recently read object rows, so hot GETs and HEADs skip the index.
///
/// Consistency without holding locks across the index read: each key belongs to one of 256
/// stripes with a generation counter. A writer, after committing (and still holding the key's
/// lock), calls `invalidate`, which drops the entry and bumps the stripe's generation. A reader
/// notes the generation before reading the index and stores the row only if the generation is
/// unchanged, so a row read before a concurrent commit can never be cached after it.
final class MetadataCache: Sendable {
    /// Keys compare as bytes (see `ObjectAddress.==`): canonically equivalent but different
    /// keys are different objects.
    struct Key: Hashable, Sendable {
        var bucketID: Int64
        var key: String

        init(bucketID: Int64, key: String) {
            self.bucketID = bucketID
            self.key = key
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.bucketID == rhs.bucketID && lhs.key.utf8.elementsEqual(rhs.key.utf8)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(bucketID)
            for byte in key.utf8 { hasher.combine(byte) }
        }
    }

    /// A cached row and, for small objects, the object's bytes: hot small GETs are then served
    /// without touching the filesystem. Writers invalidate both together.
    struct Entry: Sendable {
        var record: ObjectRecord
        var content: ByteBuffer?
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var generations = [UInt64](repeating: 0, count: MetadataCache.stripes)
        var contentBytes = 0
    }

    static let stripes = 256
    /// Objects up to this size keep their bytes in the cache.
    static let maxContentSize = 64 * 1024
    let capacity: Int
    let contentBudget: Int
    private let state = Mutex(State())

    init(capacity: Int = 16_384, contentBudget: Int = 32 * 1024 * 1024) {
        self.capacity = capacity
        self.contentBudget = contentBudget
    }

    private static func stripe(_ key: Key) -> Int {
        var hasher = Hasher()
        hasher.combine(key)
        return Int(UInt(bitPattern: hasher.finalize()) % UInt(stripes))
    }

    func lookup(_ key: Key) -> Entry? {
        state.withLock { $0.entries[key] }
    }

    /// The generation to pass to `store` for a read that starts now.
    func generation(_ key: Key) -> UInt64 {
        let stripe = Self.stripe(key)
        return state.withLock { $0.generations[stripe] }
    }

    func store(_ record: ObjectRecord, content: ByteBuffer? = nil, for key: Key, readAt generation: UInt64) {
        let stripe = Self.stripe(key)
        state.withLock { state in
            guard state.generations[stripe] == generation else { return }
            let size = content?.readableBytes ?? 0
            if state.entries.count >= capacity || state.contentBytes + size > contentBudget {
                // Drop an eighth of the entries; which ones hardly matters for a hot-object cache.
                for stale in Array(state.entries.keys.prefix(max(capacity / 8, 1))) { Self.remove(stale, from: &state) }
            }
            Self.remove(key, from: &state)
            state.entries[key] = Entry(record: record, content: content)
            state.contentBytes += size
        }
    }

    private static func remove(_ key: Key, from state: inout State) {
        if let old = state.entries.removeValue(forKey: key) { state.contentBytes -= old.content?.readableBytes ?? 0 }
    }

    func invalidate(_ key: Key) {
        let stripe = Self.stripe(key)
        state.withLock { state in
            Self.remove(key, from: &state)
            state.generations[stripe] &+= 1
        }
    }

    /// Forgets a whole bucket (deleted buckets), bumping every generation.
    func invalidate(bucketID: Int64) {
        state.withLock { state in
            for key in state.entries.keys where key.bucketID == bucketID { Self.remove(key, from: &state) }
            for index in state.generations.indices { state.generations[index] &+= 1 }
        }
    }
}
