import Dispatch
import Foundation
public import GRDB
public import Logging
import Synchronization

/// Where a ``GroupCommitQueue`` writes: one write transaction per batch.
public protocol GroupCommitWriter: Sendable {
    func write<T>(_ body: (Database) throws -> T) throws -> T
}

/// Group commit: changes go through one committer thread (in the file store: every PUT, DELETE,
/// copy and CompleteMultipartUpload commit), which applies all waiting changes in a single transaction
/// (each in its own savepoint, so one failed precondition does not undo the others) and then
/// runs their file operations (rename, unlink) in commit order.
///
/// Why: a transaction per PUT costs SQLite a dozen syscalls (WAL locks, frame writes), more than
/// the object's own write; with concurrent writers the cost is shared by the batch. And because
/// commits and their renames happen on one thread in commit order, the file on disk always ends
/// up matching the last committed row without a per-key lock, and the task that submitted a
/// change waits for it without holding a thread.
///
/// Not everything comes here. Bucket rows, uploads and their parts, the expiry of old uploads
/// and start-up recovery write with `ObjectIndex.write` directly: they are rare, or (parts)
/// serialised per upload by `KeyCommitLocks`, and such a write waits for SQLite's writer lock on
/// the calling thread like any other, batching nothing.
public final class GroupCommitQueue: Sendable {
    /// One change: `transact` runs inside the batch's transaction; `afterCommit` runs on the
    /// committer thread once the transaction is durable (never if `transact` threw);
    /// `complete` reports the outcome to the waiting task.
    struct Item: Sendable {
        let transact: @Sendable (Database) throws -> Void
        let afterCommit: @Sendable () -> Void
        let complete: @Sendable ((any Error)?) -> Void
    }

    private let writer: any GroupCommitWriter
    private let logger: Logger
    private let queue = Mutex<(items: [Item], stopping: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    static let maxBatch = 256

    /// Starts the committer thread, named `name`.
    public init(writer: any GroupCommitWriter, logger: Logger, name: String = "stowage-commit") {
        self.writer = writer
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Runs `transact` in the next batch and `afterCommit` after it; returns `transact`'s value.
    public func submit<T: Sendable>(
        _ transact: @escaping @Sendable (Database) throws -> T,
        afterCommit: @escaping @Sendable (T) -> Void = { _ in }
    ) async throws -> T {
        let box = ResultBox<T>()
        return try await withCheckedThrowingContinuation { continuation in
            let item = Item(
                transact: { db in box.set(try transact(db)) },
                afterCommit: { afterCommit(box.get()!) },
                complete: { error in
                    if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: box.get()!) }
                }
            )
            let accepted = queue.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.items.append(item)
                return true
            }
            if accepted { wake.signal() } else { continuation.resume(throwing: ServiceStopped()) }
        }
    }

    /// The queue was stopped: the change was not applied.
    public struct ServiceStopped: Error {}

    /// Stops after the items already queued.
    public func stop() {
        queue.withLock { $0.stopping = true }
        wake.signal()
        stopped.wait()
    }

    private func run() {
        while true {
            wake.wait()
            while true {
                let (batch, stopping) = queue.withLock { state -> ([Item], Bool) in
                    let count = min(state.items.count, Self.maxBatch)
                    let batch = Array(state.items.prefix(count))
                    state.items.removeFirst(count)
                    return (batch, state.stopping)
                }
                if batch.isEmpty {
                    if stopping {
                        stopped.signal()
                        return
                    }
                    break
                }
                process(batch)
            }
        }
    }

    private func process(_ batch: [Item]) {
        var outcomes = [(any Error)?](repeating: nil, count: batch.count)
        do {
            try writer.write { db in
                for (position, item) in batch.enumerated() {
                    // Cached statements: GRDB's `inSavepoint` parses its SQL on every call.
                    try db.cachedStatement(sql: "SAVEPOINT item").execute()
                    do {
                        try item.transact(db)
                    } catch {
                        outcomes[position] = error
                        try db.cachedStatement(sql: "ROLLBACK TO item").execute()
                    }
                    try db.cachedStatement(sql: "RELEASE item").execute()
                }
            }
        } catch {
            // The transaction itself failed (disk full, I/O error): nothing of the batch happened.
            logger.error("commit of a batch failed", metadata: ["items": "\(batch.count)", "error": "\(error)"])
            for item in batch { item.complete(error) }
            return
        }
        for (item, outcome) in zip(batch, outcomes) {
            if outcome == nil { item.afterCommit() }
            item.complete(outcome)
        }
    }
}

/// A value handed from the committer thread to the waiting task; written once, before it is read.
private final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    func set(_ newValue: T) { value.withLock { $0 = newValue } }
    func get() -> T? { value.withLock { $0 } }
}
