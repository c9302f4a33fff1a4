import Foundation
import Logging
import Synchronization

/// One drive of this node while the backend runs: its catalog, whether it is in rotation,
/// and why not. The prober takes a drive out of rotation when its path stops answering as
/// itself, and back in (with a freshly opened catalog) when it does again.
final class ClusterDrive: Sendable {
    struct State: Sendable {
        var catalog: DriveCatalog?
        var online: Bool
        var reason: String?
        var closed = false
        var tracker: DriveHealthTracker
    }

    /// Which file the catalog is (device, inode): a drive that comes back holding another
    /// catalog file (an emptied drive, a restored copy) lost state it may have promised with.
    struct FileIdentity: Sendable, Equatable {
        let device: UInt64
        let inode: UInt64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    let path: String
    let layout: DriveLayout
    let driveUUID: String
    let durable: Bool
    /// False for a drive whose catalog is new under an old format: it lost its state and must
    /// not vote until healed (F2).
    let isVoter: Bool
    private let state: Mutex<State>
    /// Measured at start and at each probe (statvfs can block on a failing mount: not on
    /// every request).
    let measuredSpace: Mutex<DriveSpace?>
    private let logger: Logger
    /// The catalog file this process opened at start.
    private let catalogIdentity: FileIdentity?

    init(
        path: String, driveUUID: String, durable: Bool, isVoter: Bool, catalog: DriveCatalog?, reason: String?, logger: Logger,
        policy: DriveHealthTracker.Policy = .init()
    ) {
        self.path = path
        self.layout = DriveLayout(drive: path)
        self.driveUUID = driveUUID
        self.durable = durable
        self.isVoter = isVoter
        self.logger = logger
        state = Mutex(State(catalog: catalog, online: catalog != nil, reason: reason, tracker: DriveHealthTracker(policy: policy)))
        catalogIdentity = catalog == nil ? nil : FileIdentity(path: layout.catalogPath)
        measuredSpace = Mutex(ClusterBackend.space(path).map { DriveSpace(free: $0.free, filesystem: $0.filesystem) })
    }

    var catalog: DriveCatalog? { state.withLock { $0.online ? $0.catalog : nil } }
    /// The catalog even while the drive is out of rotation: to lift a condemnation it
    /// placed, which must not outlive the collector run.
    var catalogInOrOut: DriveCatalog? { state.withLock { $0.catalog } }
    var online: Bool { state.withLock { $0.online } }
    var reason: String? { state.withLock { $0.reason } }
    /// Operations, errors and latency, for health and clusterStatus.
    var activity: String { state.withLock { $0.tracker.summary } }
    var activityFigures: (operations: Int, errors: Int, meanLatencyMs: Double) {
        state.withLock { ($0.tracker.operations, $0.tracker.errors, $0.tracker.meanLatencyMs) }
    }

    /// Runs one operation on the drive, counting its latency and failure (`failed` reads a
    /// result that is a failure without throwing). Failures in a row take it out of rotation.
    func track<T>(_ operation: () async throws -> T, failed: (T) -> Bool = { _ in false }) async rethrows -> T {
        let id = state.withLock { $0.tracker.begin(at: .now) }
        do {
            let result = try await operation()
            finish(id, error: failed(result) ? "the operation's outcome is unknown (an I/O error at commit)" : nil)
            return result
        } catch {
            finish(id, error: "\(error)")
            throw error
        }
    }

    /// An outcome timed elsewhere (a shard file written inside the erasure writer).
    func record(error: String?) {
        takeOutIfNeeded(state.withLock { $0.tracker.record(latency: nil, error: error) })
    }

    private func finish(_ id: UInt64, error: String?) {
        takeOutIfNeeded(state.withLock { $0.tracker.end(id, at: .now, error: error) })
    }

    private func takeOutIfNeeded(_ verdict: DriveHealthTracker.Verdict) {
        guard case .takeOut(let reason) = verdict else { return }
        takeOut(reason)
    }

    private func takeOut(_ problem: String) {
        let wasOnline = state.withLock { state -> Bool in
            let was = state.online
            state.online = false
            state.reason = problem
            return was
        }
        if wasOnline { logger.error("drive out of rotation", metadata: ["drive": "\(path)", "reason": "\(problem)"]) }
    }

    /// Checks the drive through its path, not through descriptors held open: the directory
    /// must exist and hold this drive's own format.
    func probe() {
        let measured = ClusterBackend.space(path).map { DriveSpace(free: $0.free, filesystem: $0.filesystem) }
        measuredSpace.withLock { $0 = measured }
        let found = DriveFormatFile.read(drive: path)
        var problem: String?
        switch found {
        case .formatted(let format) where format.driveUUID == driveUUID: problem = nil
        case .formatted(let format): problem = "it now holds another drive's format (\(format.driveUUID))"
        case .unformatted: problem = "its format.json is gone"
        case .unreadable(let reason): problem = reason
        }
        if problem == nil { problem = state.withLock { $0.tracker.overdue(at: .now) } }
        if problem == nil && !online { problem = writeProbe() }
        if let problem {
            takeOut(problem)
            return
        }
        guard !online else { return }
        // Back only with the very catalog file it left with: never a new one (that would vote
        // with promises forgotten, F2), never another copy.
        guard let identity = FileIdentity(path: layout.catalogPath) else {
            state.withLock { $0.reason = "its catalog is gone: the drive lost its state and must be replaced, not reused" }
            return
        }
        guard identity == catalogIdentity else {
            state.withLock { $0.reason = "it came back with a different catalog file (a copy or a rebuilt drive); it stays out until replaced" }
            return
        }
        do {
            // Afresh: the old descriptors may point at a directory that was removed.
            let fresh = try DriveCatalog.open(path: layout.catalogPath, durable: durable, logger: logger, name: "stowage-drive")
            let (old, stale) = state.withLock { state -> (DriveCatalog?, DriveCatalog?) in
                guard !state.closed else { return (nil, fresh) }
                let old = state.catalog
                state.catalog = fresh
                state.online = true
                state.reason = nil
                state.tracker.restored()
                return (old, nil)
            }
            try? stale?.close()
            try? old?.close()
            if stale == nil { logger.notice("drive back in rotation", metadata: ["drive": "\(path)"]) }
        } catch {
            state.withLock { $0.reason = "its catalog cannot be opened: \(error)" }
        }
    }

    /// A drive out of rotation comes back only if it takes a synced write and reads it back
    /// (one that failed operations may have a full or read-only file system).
    private func writeProbe() -> String? {
        let path = layout.stowageDirectory + "/probe"
        let token = Array(UUID().uuidString.utf8)
        do {
            try DurableFiles.write(Data(token), to: path, durable: true)
            guard FileManager.default.contents(atPath: path).map(Array.init) == token else { return "a probe write did not read back" }
            return nil
        } catch {
            return "a probe write failed: \(error)"
        }
    }

    func close() {
        let catalog = state.withLock { state -> DriveCatalog? in
            defer { state.catalog = nil; state.online = false; state.closed = true }
            return state.catalog
        }
        try? catalog?.close()
    }
}

/// A drive of this node as the register coordinator sees it.
struct ClusterDriveReplica: RegisterReplica {
    let drive: ClusterDrive?
    /// Where a read leaves the inline shard it found beside the register row.
    var prefetch: InlinePrefetch?

    var isOnline: Bool { drive?.online ?? false }

    func answersInPlace(_ request: AcceptorRequest) -> Bool {
        if case .learn = request { return true } else { return false }
    }

    func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
        guard let drive, let catalog = drive.catalog else { return .notDelivered }
        if case .read = request, let prefetch {
            guard drive.isVoter else { return .reply(.notVoter) }
            return await drive.track({
                do {
                    let (record, inline) = try catalog.recordWithInline(key)
                    if let inline, let dataRef = record?.accepted?.value.dataRef, !dataRef.isEmpty {
                        prefetch.put(.init(dataRef: dataRef, part: 1, slot: inline.slot), inline.bytes)
                    }
                    return .reply(.state(accepted: record?.accepted, chosen: record?.chosen ?? false))
                } catch {
                    return .outcomeUnknown
                }
            }, failed: { $0 == .outcomeUnknown })
        }
        let replica = LocalDriveReplica(catalog: catalog, isVoter: drive.isVoter)
        if case .learn = request { return await replica.handle(request, key: key) }
        return await drive.track({ await replica.handle(request, key: key) }, failed: { $0 == .outcomeUnknown })
    }

    var listsInPlace: Bool { true }

    func listRange(_ request: ListRangeRequest) async -> ListRangeReply? {
        guard let drive, let catalog = drive.catalog else { return nil }
        return await drive.track({ try? catalog.listRange(request, isVoter: drive.isVoter) }, failed: { $0 == nil })
    }
}
