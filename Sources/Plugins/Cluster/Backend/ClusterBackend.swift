import Foundation
public import Logging
public import ServiceLifecycle
public import StowageCore
import StowageErasure
import Synchronization

/// The erasure-coded backend (CLUSTER.md): objects cut into chunks, Reed-Solomon coded into
/// k+m shards over the drives of an erasure set, every object head, bucket and upload a
/// per-key quorum register on the set's drive catalogs. This build runs one node with many
/// drives; the multi-node transport arrives with the QUIC issue.
///
/// ```swift
/// let backend = ClusterBackend(options: .init(drives: ["/mnt/d1", ..., "/mnt/d6"]), logger: logger)
/// try await backend.open()       // forms the drives on first start, checks their formats after
/// ```
public final class ClusterBackend: StorageBackend {
    public struct Options: Sendable, Equatable {
        public var drives: [String]
        public var dataShards: Int
        public var parityShards: Int
        public var chunkSize: Int
        public var dataWriteQuorum: QuorumArithmetic.DataWriteQuorum
        /// Catalogs `synchronous=FULL` and shard files fsynced before a write is acknowledged.
        public var fsync: Bool
        /// Objects up to this size keep their shards in the drives' catalogs.
        public var inlineLimit: Int
        /// How often each drive is probed through its path.
        public var probeInterval: Duration
        /// How long the data of a write whose outcome is unknown waits before the collector
        /// looks at it (CLUSTER.md §3: GETs that resolved it finish first).
        public var collectionGrace: Duration

        public init(
            drives: [String], dataShards: Int = 4, parityShards: Int = 2, chunkSize: Int = 4 << 20,
            dataWriteQuorum: QuorumArithmetic.DataWriteQuorum = .parity, fsync: Bool = false,
            inlineLimit: Int = 128 << 10, probeInterval: Duration = .seconds(2), collectionGrace: Duration = .seconds(3600)
        ) {
            self.drives = drives
            self.dataShards = dataShards
            self.parityShards = parityShards
            self.chunkSize = chunkSize
            self.dataWriteQuorum = dataWriteQuorum
            self.fsync = fsync
            self.inlineLimit = inlineLimit
            self.probeInterval = probeInterval
        self.collectionGrace = collectionGrace
        }
    }

    struct ErasureSet: Sendable {
        let index: Int
        /// By slot; nil where the set map names a drive this node does not have.
        let drives: [ClusterDrive?]
        let coordinator: RegisterCoordinator
        var offline: Int { drives.filter { !($0?.online ?? false) }.count }
    }

    struct State: Sendable {
        let format: DriveFormat
        let drives: [ClusterDrive]
        let excluded: [(path: String, reason: String)]
        let sets: [ErasureSet]
        let placement: Placement
        let quorum: QuorumArithmetic
    }

    public let options: Options
    let logger: Logger
    private let opened = Mutex<State?>(nil)
    let bucketCache = BucketLeaseCache()
    let manifestCache = ManifestCache()
    let collections = Mutex<[CollectionJob]>([])
    let prefetch = InlinePrefetch()

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    func openState() throws -> State {
        guard let state = opened.withLock({ $0 }) else {
            throw S3Error(.serviceUnavailable, message: "The storage backend is not open.")
        }
        return state
    }

    public func open() async throws {
        let state = try await ClusterStartup(options: options, logger: logger, prefetch: prefetch).run()
        opened.withLock { $0 = state }
    }

    public func close() async throws {
        let state = opened.withLock { state -> State? in
            defer { state = nil }
            return state
        }
        for drive in state?.drives ?? [] { drive.close() }
    }

    public var services: [any Service] {
        [
            PeriodicWork(interval: options.probeInterval) { [self] in probeDrives() },
            PeriodicWork(interval: .seconds(1)) { [self] in await collectDueData() },
        ]
    }

    public func health() async -> BackendHealth {
        guard let state = try? openState() else {
            return BackendHealth(components: [.init(name: "cluster", status: .unavailable, detail: "not open")])
        }
        var components: [BackendHealth.Component] = []
        for set in state.sets {
            let offline = set.offline
            let status: BackendHealth.Status = offline == 0 ? .ok
                : state.quorum.canWriteData(offline: offline) ? .degraded : .unavailable
            let detail = offline == 0 ? nil : "\(offline) of \(set.drives.count) drives offline"
            components.append(.init(name: "set \(set.index)", status: status, detail: detail))
        }
        // A drive out of rotation degrades the node; whether data is still served is its
        // set's status above.
        for drive in state.drives {
            let detail = [drive.reason, drive.activity].compactMap { $0 }.joined(separator: "; ")
            components.append(.init(name: "drive \(drive.path)", status: drive.online ? .ok : .degraded, detail: detail))
        }
        for excluded in state.excluded {
            components.append(.init(name: "drive \(excluded.path)", status: .degraded, detail: excluded.reason))
        }
        return BackendHealth(components: components)
    }

    func probeDrives() {
        guard let state = try? openState() else { return }
        for drive in state.drives { drive.probe() }
    }
}

/// Runs `work` every `interval` until graceful shutdown: the drive prober (CLUSTER.md §10,
/// issue 12 §2) and the collector of failed writes' data.
struct PeriodicWork: Service {
    let interval: Duration
    let work: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while true {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                await work()
            }
        }
    }
}
