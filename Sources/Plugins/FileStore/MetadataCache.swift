import NIOCore
import StowageCore

/// Recently read object rows, and small objects' bytes, so hot GETs and HEADs skip the index
/// (and, for small objects, the filesystem): Core's `GenerationCache`, keyed by bucket id and
/// key bytes. Writers invalidate a key after committing it.
typealias MetadataCache = GenerationCache<MetadataCacheKey, MetadataCacheEntry>

extension MetadataCache {
    /// Objects up to this size keep their bytes in the cache.
    static let maxContentSize = 64 * 1024

    convenience init() {
        self.init(capacity: 16_384, costBudget: 32 * 1024 * 1024) { $0.content?.readableBytes ?? 0 }
    }

    func invalidate(bucketID: Int64) {
        invalidateAll { $0.bucketID == bucketID }
    }
}

/// Keys compare as bytes (see `ObjectAddress.==`): canonically equivalent but different keys
/// are different objects.
struct MetadataCacheKey: Hashable, Sendable {
    var bucketID: Int64
    var key: String

    init(bucketID: Int64, key: String) {
        self.bucketID = bucketID
        self.key = key
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.bucketID == rhs.bucketID && lhs.key.utf8.elementsEqual(rhs.key.utf8)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(bucketID)
        for byte in key.utf8 { hasher.combine(byte) }
    }
}

/// A cached row and, for small objects, the object's bytes; writers invalidate both together.
struct MetadataCacheEntry: Sendable {
    var record: ObjectRecord
    var content: ByteBuffer?
}
