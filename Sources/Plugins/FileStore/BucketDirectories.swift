import StowageCore
import StowageLocalFiles
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Open bucket directories, a bounded number at a time. Holding one descriptor per bucket for
/// the life of the process ran a server out of descriptors at about a thousand buckets; here
/// the most recently used stay open and the rest are opened again when needed (one `openat`).
/// A request keeps its `BucketDirectory` alive while it uses it, so evicting one never closes
/// a descriptor in use: the last reference closes it.
final class BucketDirectories: Sendable {
    static let capacity = 128

    private struct Entry {
        var directory: BucketDirectory
        var lastUse: UInt64
    }
    private struct State {
        var entries: [Int64: Entry] = [:]
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())

    /// The directory of `bucket`, opened relative to `rootFD` if it is not open; `NoSuchBucket`
    /// when it is gone.
    func directory(for bucket: BucketRecord, rootFD: CInt) throws -> BucketDirectory {
        let cached = state.withLock { state -> BucketDirectory? in
            guard state.entries[bucket.id] != nil else { return nil }
            state.clock &+= 1
            state.entries[bucket.id]!.lastUse = state.clock
            return state.entries[bucket.id]!.directory
        }
        if let cached { return cached }
        let opened: BucketDirectory
        do {
            opened = BucketDirectory(fd: try POSIXFiles.openDirectory(at: rootFD, bucket.info.name))
        } catch let failure as POSIXFiles.Failure where failure.code == ENOENT {
            throw S3Error(.noSuchBucket).with("BucketName", bucket.info.name)
        }
        return state.withLock { state in
            state.clock &+= 1
            if let raced = state.entries[bucket.id] { return raced.directory }
            if state.entries.count >= Self.capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                state.entries.removeValue(forKey: oldest)
            }
            state.entries[bucket.id] = Entry(directory: opened, lastUse: state.clock)
            return opened
        }
    }

    /// Forgets a bucket's directory (deleted or being deleted).
    func forget(_ bucketID: Int64) {
        _ = state.withLock { $0.entries.removeValue(forKey: bucketID) }
    }

    func removeAll() {
        state.withLock { $0.entries.removeAll() }
    }

    /// How many are open, for tests.
    var count: Int { state.withLock { $0.entries.count } }
}
