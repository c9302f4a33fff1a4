import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor with exactly one owner.
///
/// Whoever calls `take()` first gets the descriptor and must close it; if nobody takes it,
/// `deinit` closes it. The `Mutex` makes take-and-close safe from any thread.
public final class OwnedFileDescriptor: Sendable {
    private let state: Mutex<CInt?>

    public init(_ descriptor: CInt) {
        state = Mutex(descriptor)
    }

    /// Takes ownership of the descriptor; `nil` if it was already taken or closed.
    public func take() -> CInt? {
        state.withLock { value in
            let taken = value
            value = nil
            return taken
        }
    }

    /// Runs `body` with the descriptor while it stays owned here.
    public func withDescriptor<R>(_ body: (CInt) throws -> R) rethrows -> R? {
        try state.withLock { value in
            guard let fd = value else { return nil }
            return try body(fd)
        }
    }

    /// Closes the descriptor now if it is still owned here.
    public func close() {
        if let fd = take() { _ = systemClose(fd) }
    }

    deinit {
        if let fd = state.withLock({ $0 }) { _ = systemClose(fd) }
    }
}

@inline(__always)
private func systemClose(_ fd: CInt) -> CInt {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #elseif canImport(Musl)
    return Musl.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}
