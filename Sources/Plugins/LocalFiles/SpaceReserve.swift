import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Space set aside for the index: a preallocated file (`.stowage/reserve`). When the disk fills
/// up, SQLite needs a few pages even to delete a row, so deletes, aborts and start-up would fail
/// exactly when they are needed to free space. Those give the reserve back and try once more;
/// it is made again once there is room, and writes that take space wait for it.
///
/// Making and giving back happen under one lock, so the flag always says what is on disk. On a
/// file system that cannot preallocate (or a directory it cannot write), the reserve is turned
/// off rather than holding every write back.
public final class SpaceReserve: Sendable {
    public static let path = ".stowage/reserve"
    public static let defaultSize: Int64 = 2 * 1024 * 1024

    public enum Outcome: Equatable {
        case inPlace
        /// The disk has no room for it: writes must wait.
        case noRoom
        /// Preallocation does not work here: the reserve is off and writes go ahead.
        case unavailable
    }

    private struct State {
        var present = false
        var releases = 0
        var disabledBecause: Int32?
    }

    public let size: Int64
    private let state = Mutex(State())

    public init(size: Int64 = SpaceReserve.defaultSize) { self.size = size }

    /// Counts releases, so a caller can tell that one happened since it started.
    public var releases: Int { state.withLock { $0.releases } }

    /// Makes the reserve if it is missing and there is room.
    @discardableResult
    public func ensure(rootFD: CInt) -> Outcome {
        state.withLock { state -> Outcome in
            if state.present { return .inPlace }
            if state.disabledBecause != nil { return .unavailable }
            let fd = Self.path.withCString { openat(rootFD, $0, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o600) }
            guard fd >= 0 else {
                let code = errno
                if Self.isFull(code) { return .noRoom }
                state.disabledBecause = code
                return .unavailable
            }
            defer { _ = close(fd) }
            let code = posix_fallocate(fd, 0, off_t(size))
            guard code == 0 else {
                // Keep nothing: what little room there is stays usable.
                _ = Self.path.withCString { unlinkat(rootFD, $0, 0) }
                if Self.isFull(code) { return .noRoom }
                state.disabledBecause = code
                return .unavailable
            }
            state.present = true
            return .inPlace
        }
    }

    /// Why the reserve is off (an errno), if it is.
    public var disabledBecause: Int32? { state.withLock { $0.disabledBecause } }

    /// Whether the reserve should be on disk and is not: the disk had no room for it.
    public var isMissingForLackOfRoom: Bool { state.withLock { !$0.present && $0.disabledBecause == nil } }

    /// Gives the space back; `true` if there was a reserve to give (made by this process, or
    /// left on disk by an earlier one).
    public func release(rootFD: CInt) -> Bool {
        state.withLock { state -> Bool in
            let removed = Self.path.withCString { unlinkat(rootFD, $0, 0) } == 0
            let had = state.present || removed
            state.present = false
            if had { state.releases += 1 }
            return had
        }
    }

    public static func isFull(_ code: Int32) -> Bool { code == ENOSPC || code == EDQUOT || code == EFBIG }
}
