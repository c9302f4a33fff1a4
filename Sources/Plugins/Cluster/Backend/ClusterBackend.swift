import Foundation
public import Logging
public import ServiceLifecycle
public import StowageCore
import StowageErasure
import Synchronization

/// The erasure-coded backend (CLUSTER.md): objects cut into chunks, Reed-Solomon coded into
/// k+m shards over the drives of an erasure set, every object head, bucket and upload a
/// per-key quorum register on the set's drive catalogs. One node with many drives, or several
/// nodes whose drives are reached through a ``ClusterTransport`` (in this build, the
/// in-process one; QUIC between processes arrives with issue 14).
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
        /// At most this many collector runs a second (each settles one key and removes one
        /// value's data on its set's drives): the collector never crowds out client requests.
        public var collectionRate: Double
        /// How often this node's drives are scanned for data their registers stopped
        /// referencing (overwrites, deletes).
        public var collectionScanInterval: Duration
        /// This node, as the drives' formats name it; "local" for a single node's drives.
        public var nodeID: String

        public init(
            drives: [String], dataShards: Int = 4, parityShards: Int = 2, chunkSize: Int = 4 << 20,
            dataWriteQuorum: QuorumArithmetic.DataWriteQuorum = .parity, fsync: Bool = false,
            inlineLimit: Int = 128 << 10, probeInterval: Duration = .seconds(2), collectionGrace: Duration = .seconds(3600),
            collectionRate: Double = 100, collectionScanInterval: Duration = .seconds(10), nodeID: String = "local"
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
            self.collectionRate = collectionRate
            self.collectionScanInterval = collectionScanInterval
            self.nodeID = nodeID
        }
    }

    struct ErasureSet: Sendable {
        /// Across every pool, in pool order: set 0 is the system set (pool 0's first).
        let index: Int
        /// By slot; nil where the set map names a drive this node cannot reach.
        let drives: [(any SetDrive)?]
        let coordinator: RegisterCoordinator
        var pool = 0
        /// By slot: the UUIDs the set map names.
        var uuids: [String] = []
        var offline: Int { drives.filter { !($0?.online ?? false) }.count }
    }

    /// One pool's sets: a key of a bucket bound to the pool lives in
    /// `sets[range.lowerBound + placement.set(bucketID:key:)]`.
    struct PoolSets: Sendable {
        let layout: PoolLayout
        let placement: Placement
        /// Where the pool's sets sit in ``State/sets``.
        let range: Range<Int>
    }

    struct State: Sendable {
        /// The format this node's drives agree on (their pool's).
        let format: DriveFormat
        let drives: [ClusterDrive]
        /// The other nodes' drives in every pool this node knows.
        let remote: [RemoteDrive]
        let excluded: [(path: String, reason: String)]
        /// Every pool's sets, in pool order.
        let sets: [ErasureSet]
        let pools: [PoolSets]
        let quorum: QuorumArithmetic
        /// This node's ballot clock, shared by every set's coordinator.
        let clock: NodeClock

        /// The sets of `pool` (a bucket's; nil for buckets from before pools, which are pool
        /// 0's); 503 for a pool this node has not heard of yet.
        func pool(_ pool: Int?) throws -> PoolSets {
            let index = pool ?? 0
            guard pools.indices.contains(index) else {
                throw S3Error(.serviceUnavailable, message: "This node does not know pool \(index) yet; retry.")
            }
            return pools[index]
        }

        func sets(ofPool pool: Int?) throws -> ArraySlice<ErasureSet> { sets[try self.pool(pool).range] }
    }

    public let options: Options
    let logger: Logger
    private let opened = Mutex<State?>(nil)
    let bucketCache: BucketLeaseCache
    let manifestCache = ManifestCache()
    let collections = Mutex<[CollectionJob]>([])
    /// Paces every collector run (``Options/collectionRate``).
    let collectionPacer: CollectionPacer
    /// Data refs a collector run of this node is working on (the scanner skips them).
    let collecting = Mutex<Set<[UInt8]>>([])
    let statisticsCache = Mutex<StatisticsSnapshot?>(nil)
    let prefetch = InlinePrefetch()
    let counters = ClusterCounters()
    /// This node's end of the cluster transport; nil for a single node.
    let transport: (any ClusterTransport)?
    /// This node's drives, as the other nodes' requests find them.
    private let served = ServedDrives()
    /// Where new buckets go when set (tests pin a pool; free space varies under them).
    let pinnedPool = Mutex<Int?>(nil)
    /// What ties this node to the other processes of its cluster, if it is one of several.
    let lifecycle: (any ClusterNodeLifecycle)?

    /// `attach` connects the node to its cluster: it is given the handler that serves this
    /// node's drives and returns the transport this node sends with (in tests,
    /// `InProcessNetwork.attach`).
    ///
    /// ```swift
    /// let node = ClusterBackend(options: .init(drives: paths, nodeID: "n1"), logger: logger) {
    ///     network.attach(NodeID("n1"), handler: $0)
    /// }
    /// ```
    public init(
        options: Options, logger: Logger, attach: ((any ClusterRequestHandler) -> any ClusterTransport)? = nil,
        lifecycle: (any ClusterNodeLifecycle)? = nil
    ) {
        self.options = options
        self.logger = logger
        self.lifecycle = lifecycle
        collectionPacer = CollectionPacer(ratePerSecond: options.collectionRate)
        let served = self.served
        let bucketCache = BucketLeaseCache()
        self.bucketCache = bucketCache
        transport = attach?(DriveRequestHandler(
            lookup: { uuid in served.drive(uuid).map { .drive($0) } },
            onBucketChanged: { bucketCache.invalidate($0) }))
    }

    func openState() throws -> State {
        guard let state = opened.withLock({ $0 }) else {
            throw S3Error(.serviceUnavailable, message: "The storage backend is not open.")
        }
        return state
    }

    /// Replaces the open state with what `change` makes of it (nil: leaves it); the new state.
    func swapState(_ change: (State) -> State?) -> State? {
        opened.withLock { opened in
            guard let current = opened, let next = change(current) else { return nil }
            opened = next
            return next
        }
    }

    public func open() async throws {
        try await lifecycle?.prepare()
        let state: State
        do {
            state = try await ClusterStartup(
                options: options, logger: logger, prefetch: prefetch, transport: transport, counters: counters, lifecycle: lifecycle
            ).run()
        } catch {
            await lifecycle?.finish()
            throw error
        }
        opened.withLock { $0 = state }
        served.install(state.drives)
        lifecycle?.observeLiveness { [weak self] in await self?.probeDrives() }
        lifecycle?.observePools { [weak self] pools in await self?.adopt(pools: pools) }
        // The system set is pool 0's first set on every node, whatever pools follow.
        lifecycle?.attachMapRegister(ClusterMapRegister(coordinator: state.sets[0].coordinator))
        // A pool formed between the start-up's look at the map and the line above.
        if let pools = lifecycle?.pools() { await adopt(pools: pools) }
    }

    public func close() async throws {
        let state = opened.withLock { state -> State? in
            defer { state = nil }
            return state
        }
        served.install([])
        for drive in state?.drives ?? [] { drive.close() }
        await lifecycle?.finish()
    }

    public var services: [any Service] {
        [
            PeriodicWork(interval: options.probeInterval) { [self] in await probeDrives() },
            PeriodicWork(interval: .seconds(1)) { [self] in await collectDueData() },
            PeriodicWork(interval: options.collectionScanInterval) { [self] in await collectOrphans() },
        ] + (lifecycle?.services ?? [])
    }

    func probeDrives() async {
        guard let state = try? openState() else { return }
        for drive in state.drives { drive.probe() }
        await withTaskGroup(of: Void.self) { group in
            for drive in state.remote { group.addTask { await drive.probe() } }
        }
    }
}

/// What ties a node to the other processes of its cluster (the Host's QUIC node runtime):
/// it runs before the drives open (binding the node's endpoint, waiting until the node's pool
/// is formed and its drives carry their formats) and after they close, and brings its own
/// services (heartbeats).
///
/// ```swift
/// let backend = ClusterBackend(options: options, logger: logger, attach: runtime.attach, lifecycle: runtime)
/// ```
public protocol ClusterNodeLifecycle: Sendable {
    func prepare() async throws
    func finish() async
    var services: [any Service] { get }
    /// The membership as this node sees it, for `clusterStatus`.
    func membership() -> ClusterStatus.Membership?
    /// Given once the drives are open: what to call when a node's liveness changes (the
    /// backend probes the other nodes' drives at once instead of at its next probe).
    func observeLiveness(_ changed: @escaping @Sendable () async -> Void)
    /// The pools of the cluster map, in the order they were formed; nil when the drives'
    /// own format is the whole deployment.
    func pools() -> [PoolLayout]?
    /// This node's index in ballots: the cluster map's append-only index.
    var ballotIndex: Int? { get }
    /// Given once the drives are open: what to call with the map's pools when a pool forms.
    func observePools(_ changed: @escaping @Sendable ([PoolLayout]) async -> Void)
    /// Hands the backend (``observePools(_:)``) the pools of the newest map this node holds,
    /// first asking the other members for a newer one when that map has fewer than `count`
    /// pools (a bucket names a pool this node has not heard of); returns once it has.
    func catchUp(toPools count: Int) async
    /// Given once the drives are open: the cluster map's register in the system set, which
    /// the node reads and changes the map through from then on.
    func attachMapRegister(_ register: ClusterMapRegister)
}

extension ClusterNodeLifecycle {
    public func attachMapRegister(_ register: ClusterMapRegister) {}
}

/// Runs `work` every `interval` until graceful shutdown: the drive prober (CLUSTER.md §10,
/// issue 12 §2), the collector of failed writes' data and the scanner of replaced data.
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

/// This node's drives by UUID, as requests from other nodes find them: empty until the
/// backend opens and after it closes.
final class ServedDrives: Sendable {
    private let drives = Mutex<[String: ClusterDrive]>([:])

    func install(_ list: [ClusterDrive]) {
        drives.withLock { drives in drives = Dictionary(list.map { ($0.driveUUID, $0) }, uniquingKeysWith: { first, _ in first }) }
    }

    func drive(_ uuid: String) -> ClusterDrive? { drives.withLock { $0[uuid] } }
}
