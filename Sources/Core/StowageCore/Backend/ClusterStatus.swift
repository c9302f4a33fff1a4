/// What a backend made of several drives or nodes reports to the management `clusterStatus`
/// call and `stowage cluster status`: its nodes, its drives and its erasure sets.
///
/// ```swift
/// if let cluster = backend as? any ClusterStatusSource {
///     let status = await cluster.clusterStatus()
///     print(status.sets.map { "set \($0.index): \($0.status)" })   // ["set 0: ok"]
/// }
/// ```
public protocol ClusterStatusSource: Sendable {
    func clusterStatus() async -> ClusterStatus
}

public struct ClusterStatus: Sendable, Codable, Hashable {
    public struct Node: Sendable, Codable, Hashable {
        public var id: String
        /// The node answering this call.
        public var isLocal: Bool
        /// `online`, or `offline` when none of its drives answers.
        public var state: String
        public var drives: Int

        public init(id: String, isLocal: Bool, state: String, drives: Int) {
            self.id = id
            self.isLocal = isLocal
            self.state = state
            self.drives = drives
        }
    }

    public struct Drive: Sendable, Codable, Hashable {
        /// The path on its node.
        public var path: String
        public var node: String
        public var uuid: String
        public var set: Int
        public var slot: Int
        /// `online`, `offline` (out of rotation: `reason` says why) or `excluded` (not in the format).
        public var state: String
        public var reason: String?
        /// For drives of this node only (nil for a drive another node holds).
        public var freeBytes: Int64?
        public var totalBytes: Int64?
        public var operations: Int?
        public var errors: Int?
        public var meanLatencyMs: Double?

        public init(
            path: String, node: String, uuid: String, set: Int, slot: Int, state: String, reason: String? = nil,
            freeBytes: Int64? = nil, totalBytes: Int64? = nil, operations: Int? = nil, errors: Int? = nil, meanLatencyMs: Double? = nil
        ) {
            self.path = path
            self.node = node
            self.uuid = uuid
            self.set = set
            self.slot = slot
            self.state = state
            self.reason = reason
            self.freeBytes = freeBytes
            self.totalBytes = totalBytes
            self.operations = operations
            self.errors = errors
            self.meanLatencyMs = meanLatencyMs
        }
    }

    public struct ErasureSet: Sendable, Codable, Hashable {
        public var index: Int
        /// `ok`, `degraded` (serving with less parity) or `unavailable` (quorum lost).
        public var status: String
        public var drivesOnline: Int
        public var drives: Int
        public var dataShards: Int
        public var parityShards: Int
        /// The pool the set belongs to (sets are numbered across pools, in pool order).
        public var pool: Int?

        public init(index: Int, status: String, drivesOnline: Int, drives: Int, dataShards: Int, parityShards: Int, pool: Int? = nil) {
            self.index = index
            self.pool = pool
            self.status = status
            self.drivesOnline = drivesOnline
            self.drives = drives
            self.dataShards = dataShards
            self.parityShards = parityShards
        }
    }

    /// How the node answering sees the cluster's membership (a multi-process cluster only).
    public struct Membership: Sendable, Codable, Hashable {
        public struct Member: Sendable, Codable, Hashable {
            public var id: String
            public var address: String
            /// The pool its drives are in; nil for a spare.
            public var pool: Int?
            /// From heartbeats: `online`, `suspect` or `offline` (never `offline` while the
            /// answering node is isolated).
            public var liveness: String

            public init(id: String, address: String, pool: Int?, liveness: String) {
                self.id = id
                self.address = address
                self.pool = pool
                self.liveness = liveness
            }
        }

        public var clusterID: String
        public var epoch: Int
        /// The node answering.
        public var local: String
        /// `connected` (it sees a majority) or `isolated`.
        public var standing: String
        public var members: [Member]
        /// The epoch of the map the cluster map register held when this node last read or
        /// wrote it; nil before its drives opened or while the register could not be reached.
        public var registerEpoch: Int?

        public init(clusterID: String, epoch: Int, local: String, standing: String, members: [Member], registerEpoch: Int? = nil) {
            self.clusterID = clusterID
            self.epoch = epoch
            self.local = local
            self.standing = standing
            self.members = members
            self.registerEpoch = registerEpoch
        }
    }

    public var nodes: [Node]
    public var drives: [Drive]
    public var sets: [ErasureSet]
    public var membership: Membership?

    public init(nodes: [Node], drives: [Drive], sets: [ErasureSet], membership: Membership? = nil) {
        self.nodes = nodes
        self.drives = drives
        self.sets = sets
        self.membership = membership
    }
}

/// Counters and gauges a backend adds to `/_stowage/metrics` beyond its health and totals
/// (a cluster's degraded reads, reconstructions, quorum failures, drive states).
///
/// ```swift
/// func metrics() async -> [BackendMetric] {
///     [BackendMetric(name: "stowage_cluster_degraded_reads_total", kind: .counter, value: degradedReads)]
/// }
/// ```
public protocol BackendMetricsSource: Sendable {
    func metrics() async -> [BackendMetric]
}

public struct BackendMetric: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Only ever grows; the value is the total so far.
        case counter
        case gauge
    }

    public var name: String
    public var kind: Kind
    public var labels: [String: String]
    public var value: Int64

    public init(name: String, kind: Kind, labels: [String: String] = [:], value: Int64) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.value = value
    }
}
