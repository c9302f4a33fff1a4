/// The `cluster` section, as the seed documents it: an erasure-coded backend over
/// `drives.paths`, Reed-Solomon `erasure.dataShards`+`erasure.parityShards` in chunks of
/// `erasure.chunkSizeBytes`. With `enabled` the storage backend is `cluster`.
///
/// ```json
/// {"cluster": {"enabled": true, "erasure": {"dataShards": 4, "parityShards": 2},
///              "drives": {"paths": ["/mnt/d1", "/mnt/d2", "/mnt/d3", "/mnt/d4", "/mnt/d5", "/mnt/d6"]}}}
/// ```
extension StowageConfiguration {
    public struct Cluster: Codable, Sendable, Equatable {
        public var enabled = false
        /// Generated when omitted.
        public var nodeId: String?
        public var quicPort = 4000
        /// Addresses (`host:quicPort`) of existing members: where `stowage cluster join` and a
        /// node waiting for its pool to form look for the cluster. Empty for a single node.
        /// With ``formationSecret``, the nodes that form the cluster on their first start
        /// (with this node, whether listed or not).
        public var seedNodes: [String] = []
        /// A secret every node of a cluster formed from ``seedNodes`` shares (64 hex digits;
        /// `stowage cluster secret` makes one): on their first `stowage serve` the
        /// nodes find each other, the one with the lowest address makes the CA, the others join
        /// it proving the secret, and the pool forms once all have. Unset: nodes join with
        /// `stowage cluster join <token>`.
        public var formationSecret: String?
        /// The host this node's QUIC endpoint binds and other nodes reach it at; defaults to
        /// `server.address` (which must then not be a wildcard).
        public var quicAddress: String?
        /// Where the node keeps its cluster identity: `tls/` (its certificate and key, the CA
        /// certificate), `map.json`, and on the node that formed the cluster `ca/` and
        /// `tokens.json`. Defaults to `<storage.directory>/cluster`.
        public var stateDirectory: String?
        public var erasure = Erasure()
        public var drives = Drives()
        public var heartbeatIntervalMs = 5_000
        public var heartbeatTimeoutMs = 30_000
        public var collection = Collection()
        public init() {}

        /// The collector of the data overwrites, deletes and failed writes leave behind.
        public struct Collection: Codable, Sendable, Equatable {
            /// How long replaced data stays before the collector looks at it (reads that
            /// resolved it finish first).
            public var graceSeconds = 3_600
            /// At most this many collections a second (0: unpaced).
            public var maxPerSecond = 100
            public init() {}
        }

        public struct Erasure: Codable, Sendable, Equatable {
            public var dataShards = 4
            public var parityShards = 2
            public var chunkSizeBytes = 4_194_304
            /// `parity` (default): a data write is acknowledged once k′+1 drives hold it;
            /// `data`: once k′ do (lets 2+1 write with a drive down, with no margin until healed).
            public var writeQuorum = "parity"
            public init() {}
        }

        public struct Drives: Codable, Sendable, Equatable {
            public var paths: [String] = []
            public init() {}
        }
    }

    /// The checks on `cluster` that need more than one field: each names the field.
    public func validateCluster() throws {
        guard cluster.enabled else { return }
        let erasure = cluster.erasure
        guard erasure.dataShards >= 1, erasure.parityShards >= 0, erasure.dataShards + erasure.parityShards <= 16 else {
            throw ConfigurationError(field: "cluster.erasure", reason: "needs at least 1 data shard and at most 16 shards in all, not \(erasure.dataShards)+\(erasure.parityShards)")
        }
        guard erasure.chunkSizeBytes >= 65_536, erasure.chunkSizeBytes <= 64 << 20 else {
            throw ConfigurationError(field: "cluster.erasure.chunkSizeBytes", reason: "must be between 65536 and 67108864, not \(erasure.chunkSizeBytes)")
        }
        guard ["parity", "data"].contains(erasure.writeQuorum) else {
            throw ConfigurationError(field: "cluster.erasure.writeQuorum", reason: "must be \"parity\" or \"data\", not \"\(erasure.writeQuorum)\"")
        }
        guard cluster.collection.graceSeconds >= 0, cluster.collection.maxPerSecond >= 0 else {
            throw ConfigurationError(field: "cluster.collection", reason: "graceSeconds and maxPerSecond must not be negative")
        }
        guard !cluster.drives.paths.isEmpty else {
            throw ConfigurationError(field: "cluster.drives.paths", reason: "must list the drive directories (or pass --drives)")
        }
        if !cluster.seedNodes.isEmpty {
            // CLUSTER.md §2: with more than one node, every acknowledged write must survive power loss.
            guard storage.fsync else {
                throw ConfigurationError(field: "storage.fsync", reason: "must be true for a multi-node cluster (cluster.seedNodes is set): a power loss on a node must not take back acknowledged writes")
            }
        }
        if let secret = cluster.formationSecret {
            // 256 random bits, as `stowage cluster secret` prints them: guessing it offline from
            // a founder's proofs must be out of reach, which a passphrase would not be.
            let hexDigits = Set("0123456789abcdefABCDEF".utf8)
            guard secret.utf8.count == 64, secret.utf8.allSatisfy(hexDigits.contains) else {
                throw ConfigurationError(field: "cluster.formationSecret", reason: "must be 64 hex digits (256 random bits; stowage cluster secret prints one)")
            }
            guard !cluster.seedNodes.isEmpty else {
                throw ConfigurationError(field: "cluster.seedNodes", reason: "must list the nodes that form the cluster when cluster.formationSecret is set")
            }
        }
        guard (1...65_535).contains(cluster.quicPort) else {
            throw ConfigurationError(field: "cluster.quicPort", reason: "must be between 1 and 65535, not \(cluster.quicPort)")
        }
        guard cluster.heartbeatIntervalMs >= 10, cluster.heartbeatTimeoutMs >= 2 * cluster.heartbeatIntervalMs else {
            throw ConfigurationError(field: "cluster.heartbeatTimeoutMs", reason: "must be at least twice heartbeatIntervalMs (at least 10), not \(cluster.heartbeatTimeoutMs) and \(cluster.heartbeatIntervalMs)")
        }
    }

    /// Where this node keeps its cluster identity (``Cluster/stateDirectory``).
    public var clusterStateDirectory: String { cluster.stateDirectory ?? storage.directory + "/cluster" }

    /// The host this node's QUIC endpoint binds and is reached at, `nil` if only a wildcard
    /// is configured.
    public var clusterQUICHost: String? {
        let host = cluster.quicAddress ?? server.address
        return ["0.0.0.0", "::", ""].contains(host) ? nil : host
    }
}

extension StowageConfiguration.Cluster {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, nodeId, quicPort, seedNodes, formationSecret, quicAddress, stateDirectory, erasure, drives, heartbeatIntervalMs, heartbeatTimeoutMs, collection
    }
    public init(from decoder: any Decoder) throws {
        try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
        nodeId = try c.decodeIfPresent(String.self, forKey: .nodeId)
        quicPort = try c.decodeIfPresent(Int.self, forKey: .quicPort) ?? d.quicPort
        seedNodes = try c.decodeIfPresent([String].self, forKey: .seedNodes) ?? d.seedNodes
        formationSecret = try c.decodeIfPresent(String.self, forKey: .formationSecret)
        quicAddress = try c.decodeIfPresent(String.self, forKey: .quicAddress)
        stateDirectory = try c.decodeIfPresent(String.self, forKey: .stateDirectory)
        erasure = try c.decodeIfPresent(Erasure.self, forKey: .erasure) ?? d.erasure
        drives = try c.decodeIfPresent(Drives.self, forKey: .drives) ?? d.drives
        heartbeatIntervalMs = try c.decodeIfPresent(Int.self, forKey: .heartbeatIntervalMs) ?? d.heartbeatIntervalMs
        heartbeatTimeoutMs = try c.decodeIfPresent(Int.self, forKey: .heartbeatTimeoutMs) ?? d.heartbeatTimeoutMs
        collection = try c.decodeIfPresent(Collection.self, forKey: .collection) ?? d.collection
    }
}

extension StowageConfiguration.Cluster.Collection {
    enum CodingKeys: String, CodingKey, CaseIterable { case graceSeconds, maxPerSecond }
    public init(from decoder: any Decoder) throws {
        try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        graceSeconds = try c.decodeIfPresent(Int.self, forKey: .graceSeconds) ?? d.graceSeconds
        maxPerSecond = try c.decodeIfPresent(Int.self, forKey: .maxPerSecond) ?? d.maxPerSecond
    }
}

extension StowageConfiguration.Cluster.Erasure {
    enum CodingKeys: String, CodingKey, CaseIterable { case dataShards, parityShards, chunkSizeBytes, writeQuorum }
    public init(from decoder: any Decoder) throws {
        try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self.init()
        dataShards = try c.decodeIfPresent(Int.self, forKey: .dataShards) ?? d.dataShards
        parityShards = try c.decodeIfPresent(Int.self, forKey: .parityShards) ?? d.parityShards
        chunkSizeBytes = try c.decodeIfPresent(Int.self, forKey: .chunkSizeBytes) ?? d.chunkSizeBytes
        writeQuorum = try c.decodeIfPresent(String.self, forKey: .writeQuorum) ?? d.writeQuorum
    }
}

extension StowageConfiguration.Cluster.Drives {
    enum CodingKeys: String, CodingKey, CaseIterable { case paths }
    public init(from decoder: any Decoder) throws {
        try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        paths = try c.decodeIfPresent([String].self, forKey: .paths) ?? []
    }
}
