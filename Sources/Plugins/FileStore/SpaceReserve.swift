import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Space set aside for the index: a preallocated file (`.stowage/reserve`). When the disk fills
/// up, SQLite needs a few pages even to delete a row, so deletes, aborts and start-up would fail
/// exactly when they are needed to free space. Those give the reserve back and try once more;
/// it is made again once there is room.
final class SpaceReserve: Sendable {
    static let path = ".stowage/reserve"
    static let defaultSize: Int64 = 2 * 1024 * 1024

    let size: Int64
    private let state = Mutex<(present: Bool, releases: Int)>((false, 0))

    init(size: Int64 = SpaceReserve.defaultSize) { self.size = size }

    /// Counts releases, so a caller can tell that one happened since it started.
    var releases: Int { state.withLock { $0.releases } }

    /// Makes the reserve if it is missing and there is room; `true` when it is in place.
    @discardableResult
    func ensure(rootFD: CInt) -> Bool {
        if state.withLock({ $0.present }) { return true }
        let fd = Self.path.withCString { openat(rootFD, $0, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        guard fd >= 0 else { return false }
        defer { _ = close(fd) }
        guard posix_fallocate(fd, 0, off_t(size)) == 0 else {
            // No room for all of it: keep nothing, so what little there is stays usable.
            _ = Self.path.withCString { unlinkat(rootFD, $0, 0) }
            return false
        }
        state.withLock { $0.present = true }
        return true
    }

    /// Gives the space back; `true` if there was a reserve to give.
    func release(rootFD: CInt) -> Bool {
        let had = state.withLock { state -> Bool in
            let had = state.present
            state.present = false
            if had { state.releases += 1 }
            return had
        }
        // Also after a restart, when this instance never made the file: it may be on disk.
        let removed = Self.path.withCString { unlinkat(rootFD, $0, 0) } == 0
        if removed, !had { state.withLock { $0.releases += 1 } }
        return had || removed
    }
}
