import Foundation
import Synchronization

/// The wall clock in milliseconds since the epoch.
public enum WallClock {
    @Sendable public static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

/// This process's ballot source: the hybrid logical clock, with each reservation made
/// durable (on every local drive) before a ballot beyond the last one is issued (F13).
///
/// ```swift
/// let clock = NodeClock(nodeIndex: 0, reservedUpToMs: max(of: drives' reservations)) { upTo in
///     for catalog in catalogs { try await catalog.reserveClock(upToMs: upTo) }
/// }
/// let ballot = try await clock.issue(above: nil)
/// ```
public final class NodeClock: Sendable {
    private let state: Mutex<HybridLogicalClock>
    private let persist: @Sendable (UInt64) async throws -> Void
    private let wallMs: @Sendable () -> UInt64

    public init(
        nodeIndex: UInt16, incarnation: UInt32 = .random(in: 1...UInt32.max), reservedUpToMs: UInt64,
        wallMs: @escaping @Sendable () -> UInt64 = WallClock.nowMs,
        persist: @escaping @Sendable (UInt64) async throws -> Void
    ) {
        state = Mutex(HybridLogicalClock(nodeIndex: nodeIndex, incarnation: incarnation, reservedUpToMs: reservedUpToMs))
        self.persist = persist
        self.wallMs = wallMs
    }

    public func issue(above: Ballot?) async throws -> Ballot {
        while true {
            let wall = wallMs()
            switch state.withLock({ $0.issue(wallMs: wall, above: above) }) {
            case .ballot(let ballot): return ballot
            case .reserve(let upTo):
                try await persist(upTo)
                state.withLock { $0.reserved(upToMs: upTo) }
            }
        }
    }

    public func observe(_ ballot: Ballot) {
        state.withLock { $0.observe(ballot) }
    }
}
