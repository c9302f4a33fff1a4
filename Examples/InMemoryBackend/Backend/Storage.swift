import NIOCore
import StowageCore

/// Everything `InMemoryBackend` holds, guarded by its one mutex.
///
/// Values only: an object's bytes are an immutable `ByteBuffer`, so a reader takes a snapshot
/// under the lock and serves it after releasing it, and a later write cannot change what the
/// reader sees.
struct Storage: Sendable {
    var isOpen = false
    /// Bucket names are ASCII by S3's naming rules, so `String` identity is byte identity here.
    var buckets: [String: StoredBucket] = [:]
    /// Source of upload ids and part revisions; only ever increases.
    var sequence: UInt64 = 0

    mutating func nextSequence() -> UInt64 {
        sequence += 1
        return sequence
    }

    func requireOpen() throws {
        guard isOpen else { throw S3Error(.serviceUnavailable, message: "The storage backend is not open.") }
    }

    func bucket(_ name: String) throws -> StoredBucket {
        guard let bucket = buckets[name] else { throw S3Error(.noSuchBucket).with("BucketName", name) }
        return bucket
    }

    /// Runs `body` on the stored bucket in place (no copy of its tables).
    mutating func modifyBucket<T>(_ name: String, _ body: (inout StoredBucket) throws -> T) throws -> T {
        guard buckets[name] != nil else { throw S3Error(.noSuchBucket).with("BucketName", name) }
        return try body(&buckets[name]!)
    }
}

/// A bucket with its objects, uploads in progress and configuration documents; deleting the
/// bucket drops all three.
struct StoredBucket: Sendable {
    var info: BucketInfo
    var objects = ObjectTable()
    var uploads: [String: StoredUpload] = [:]
    var configurations: [BucketSubresource: [UInt8]] = [:]

    init(info: BucketInfo) { self.info = info }

    /// The upload `uploadID` of exactly this key (compared as bytes), or `NoSuchUpload`.
    func upload(_ uploadID: String, key: String) throws -> StoredUpload {
        guard let upload = uploads[uploadID], upload.info.key.utf8.elementsEqual(key.utf8) else {
            throw S3Error(.noSuchUpload).with("UploadId", uploadID)
        }
        return upload
    }

    /// Runs `body` on the upload `uploadID` of exactly this key, in place; `NoSuchUpload` otherwise.
    mutating func modifyUpload<T>(_ uploadID: String, key: String, _ body: (inout StoredUpload) throws -> T) throws -> T {
        _ = try upload(uploadID, key: key)
        return try body(&uploads[uploadID]!)
    }
}

struct StoredObject: Sendable {
    var info: ObjectInfo
    var content: ByteBuffer
    /// For multipart objects, each part's number, size and checksum, for `partNumber` reads and
    /// GetObjectAttributes.
    var parts: [ObjectPart] = []
    /// The multipart upload that made the object: a repeated Complete of it is answered from it.
    var uploadID: String?
}

struct StoredUpload: Sendable {
    var info: MultipartUploadInfo
    var metadata: ObjectMetadata
    var parts: [Int: StoredPart] = [:]
}

struct StoredPart: Sendable {
    var info: PartInfo
    var content: ByteBuffer
    /// Unique per stored part: Complete uses it to notice a part replaced while it assembled.
    var revision: UInt64
}

/// A bucket's objects: found by key bytes, and kept in UTF-8 byte order for listings.
///
/// Keys are `[UInt8]`, never `String`: Swift's `String ==` treats canonically equivalent
/// strings (`café` composed and decomposed) as equal, while S3 keys are distinct byte strings.
struct ObjectTable: Sendable {
    private(set) var byKey: [[UInt8]: StoredObject] = [:]
    /// Every key, ascending in byte order.
    private(set) var sortedKeys: [[UInt8]] = []
    private(set) var totalBytes: Int64 = 0

    var count: Int { byKey.count }
    var isEmpty: Bool { byKey.isEmpty }

    subscript(key: String) -> StoredObject? { byKey[Array(key.utf8)] }

    mutating func insert(_ object: StoredObject) {
        let key = Array(object.info.key.utf8)
        if let replaced = byKey.updateValue(object, forKey: key) {
            totalBytes -= replaced.info.size
        } else {
            sortedKeys.insert(key, at: firstIndex(notBefore: key))
        }
        totalBytes += object.info.size
    }

    mutating func remove(_ key: String) {
        let bytes = Array(key.utf8)
        guard let removed = byKey.removeValue(forKey: bytes) else { return }
        sortedKeys.remove(at: firstIndex(notBefore: bytes))
        totalBytes -= removed.info.size
    }

    /// Runs `body` on the stored object in place; `NoSuchKey` when absent. The size must not change.
    mutating func modify<T>(_ key: String, _ body: (inout StoredObject) throws -> T) throws -> T {
        let bytes = Array(key.utf8)
        guard byKey[bytes] != nil else { throw S3Error(.noSuchKey).with("Key", key) }
        return try body(&byKey[bytes]!)
    }

    /// The index of the first key not ordered before `key` (binary search).
    func firstIndex(notBefore key: [UInt8]) -> Int {
        var low = 0, high = sortedKeys.count
        while low < high {
            let middle = (low + high) / 2
            if sortedKeys[middle].lexicographicallyPrecedes(key) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The index of the first key ordered after `key`.
    func firstIndex(after key: [UInt8]) -> Int {
        let index = firstIndex(notBefore: key)
        return index < sortedKeys.count && sortedKeys[index] == key ? index + 1 : index
    }
}
