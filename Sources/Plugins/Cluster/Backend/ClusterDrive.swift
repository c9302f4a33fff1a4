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
    }

    let path: String
    let layout: DriveLayout
    let driveUUID: String
    let durable: Bool
    /// False for a drive whose catalog is new under an old format: it lost its state and must
    /// not vote until healed (F2).
    let isVoter: Bool
    private let state: Mutex<State>
    private let logger: Logger

    init(path: String, driveUUID: String, durable: Bool, isVoter: Bool, catalog: DriveCatalog?, reason: String?, logger: Logger) {
        self.path = path
        self.layout = DriveLayout(drive: path)
        self.driveUUID = driveUUID
        self.durable = durable
        self.isVoter = isVoter
        self.logger = logger
        state = Mutex(State(catalog: catalog, online: catalog != nil, reason: reason))
    }

    var catalog: DriveCatalog? { state.withLock { $0.online ? $0.catalog : nil } }
    var online: Bool { state.withLock { $0.online } }
    var reason: String? { state.withLock { $0.reason } }

    /// Checks the drive through its path, not through descriptors held open: the directory
    /// must exist and hold this drive's own format.
    func probe() {
        let found = DriveFormatFile.read(drive: path)
        var problem: String?
        switch found {
        case .formatted(let format) where format.driveUUID == driveUUID: problem = nil
        case .formatted(let format): problem = "it now holds another drive's format (\(format.driveUUID))"
        case .unformatted: problem = "its format.json is gone"
        case .unreadable(let reason): problem = reason
        }
        if let problem {
            let wasOnline = state.withLock { state -> Bool in
                let was = state.online
                state.online = false
                state.reason = problem
                return was
            }
            if wasOnline { logger.error("drive out of rotation", metadata: ["drive": "\(path)", "reason": "\(problem)"]) }
            return
        }
        guard !online else { return }
        // Back: open the catalog afresh (the old descriptors may point at a removed directory).
        do {
            let fresh = try DriveCatalog.open(path: layout.catalogPath, durable: durable, logger: logger, name: "stowage-drive")
            let old = state.withLock { state -> DriveCatalog? in
                let old = state.catalog
                state.catalog = fresh
                state.online = true
                state.reason = nil
                return old
            }
            try? old?.close()
            logger.notice("drive back in rotation", metadata: ["drive": "\(path)"])
        } catch {
            state.withLock { $0.reason = "its catalog cannot be opened: \(error)" }
        }
    }

    func close() {
        let catalog = state.withLock { state -> DriveCatalog? in
            defer { state.catalog = nil; state.online = false }
            return state.catalog
        }
        try? catalog?.close()
    }
}

/// A drive of this node as the register coordinator sees it.
struct ClusterDriveReplica: RegisterReplica {
    let drive: ClusterDrive?

    var isOnline: Bool { drive?.online ?? false }

    func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery {
        guard let drive, let catalog = drive.catalog else { return .notDelivered }
        return await LocalDriveReplica(catalog: catalog, isVoter: drive.isVoter).handle(request, key: key)
    }
}
