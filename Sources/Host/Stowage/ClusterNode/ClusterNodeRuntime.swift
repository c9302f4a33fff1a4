import Foundation
import HTTPTypes
import Logging
import NIOCore
import ServiceLifecycle
import StowageCluster
import StowageCore
import StowageQUIC
import Synchronization

/// One `stowage` process as a node of a multi-process cluster (CLUSTER.md §8–9): its QUIC
/// endpoint (mutual TLS under the cluster CA), the cluster map it serves and follows, the wait
/// for its pool to form, and heartbeats into a ``FailureDetector``. It is the cluster
/// backend's transport (requests to other nodes go out through QUIC) and its lifecycle.
///
/// ```swift
/// let runtime = try ClusterNodeRuntime(configuration: configuration, logger: logger)
/// let backend = ClusterBackend(options: options, logger: logger, attach: runtime.attach, lifecycle: runtime)
/// ```
final class ClusterNodeRuntime: ClusterTransport, ClusterNodeLifecycle {
    let local: NodeID
    let state: NodeStateDirectory
    let configuration: StowageConfiguration
    let logger: Logger
    private let credentials: NodeCredentials
    private let quic = Mutex<QUICTransport?>(nil)
    private let driveHandler = Mutex<(any ClusterRequestHandler)?>(nil)
    /// The newest map this node knows (its file is the durable copy).
    let map: Mutex<ClusterMap>
    let detector: Mutex<FailureDetector>
    private let livenessObserver = Mutex<(@Sendable () async -> Void)?>(nil)
    private let poolObserver = Mutex<(@Sendable ([PoolLayout]) async -> Void)?>(nil)
    /// The cluster map's register, once this node's drives are open.
    let mapRegister = Mutex<ClusterMapRegister?>(nil)
    let mapReconciliation = Mutex(MapReconciliation.pending)
    let mapFetchRunning = Mutex(false)
    /// The register's epoch when this node last read or wrote it (status).
    let registerEpoch = Mutex<Int?>(nil)
    let settings: FailureDetector.Settings

    init(configuration: StowageConfiguration, logger: Logger) throws {
        state = NodeStateDirectory(configuration)
        credentials = try state.credentials()
        local = NodeID(credentials.nodeID)
        self.configuration = configuration
        self.logger = logger
        let map = try state.readMap()
        self.map = Mutex(map)
        settings = .init(
            heartbeatIntervalMs: UInt64(configuration.cluster.heartbeatIntervalMs),
            heartbeatTimeoutMs: UInt64(configuration.cluster.heartbeatTimeoutMs))
        detector = Mutex(FailureDetector(
            local: local, peers: map.members.map { NodeID($0.id) }, settings: settings, nowMs: Self.nowMs()))
        guard configuration.storage.fsync else {
            throw ConfigurationError(field: "storage.fsync", reason: "must be true for a node of a multi-node cluster: a power loss on a node must not take back acknowledged writes")
        }
        guard configuration.clusterQUICHost != nil else {
            throw ConfigurationError(field: "cluster.quicAddress", reason: "must name the address other nodes reach this node at (server.address is a wildcard)")
        }
    }

    static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// `ClusterBackend`'s `attach`: the backend's handler serves this node's drives.
    func attach(_ handler: any ClusterRequestHandler) -> any ClusterTransport {
        driveHandler.withLock { $0 = handler }
        return self
    }

    func send(_ request: ClusterRequest, to node: NodeID) async throws -> ClusterResponse {
        guard let transport = quic.withLock({ $0 }) else {
            throw ClusterTransportError.notDelivered(node, reason: "this node's QUIC endpoint is not running")
        }
        // Fail fast (CLUSTER.md §9): a node judged offline (or, from a node that sees no
        // majority, one it suspects) gets no requests but heartbeats until it answers one, so
        // a request fails at once instead of waiting on a dead or unreachable peer. Never
        // sent, so truly not delivered. A merely suspected node (a busy one, perhaps) still
        // gets its requests: turning load into 503s would be worse than waiting.
        if request.verb != MembershipVerb.heartbeat, let unreachable = unreachableReason(node) {
            throw ClusterTransportError.notDelivered(node, reason: unreachable)
        }
        let response = try await transport.send(request, to: node)
        // Any answer shows the node alive: a link busy with data never reads as silence.
        detector.withLock { $0.heard(from: node, atMs: Self.nowMs()) }
        return response
    }

    /// Why requests to `node` fail fast now, if they do.
    func unreachableReason(_ node: NodeID) -> String? {
        detector.withLock { detector in
            switch (detector.liveness(of: node), detector.standing) {
            case (.offline?, _): return "node \(node) is offline: it missed its heartbeats"
            case (.suspect?, .isolated): return "node \(node) is unreachable: this node sees no majority of the cluster"
            default: return nil
            }
        }
    }

    func disconnect(_ node: NodeID) async {
        await quic.withLock({ $0 })?.disconnect(node)
    }

    // MARK: Lifecycle

    func prepare() async throws {
        let host = configuration.clusterQUICHost!
        let router = NodeRequestRouter(runtime: self)
        // The founder of a formation from seeds admits the other listed nodes by the secret.
        let formation = try SeedFormation(configuration).flatMap { $0.isFounder ? $0 : nil }
        let join: JoinAdmission? = state.holdsAuthority
            ? JoinAdmission(
                state: state, logger: logger, clock: { Self.nowMs() }, formation: formation,
                heardFrom: { [weak self] id in self?.detector.withLock { $0.hasHeard(from: NodeID(id)) } ?? false },
                changeMap: { [weak self] change in
                    guard let self else { throw ClusterMapRegister.Failure.unavailable("the node is stopping") }
                    return try await self.changeMap(change)
                }
            ) { [weak self] map in
                guard let self, (try? self.adopt(map)) != nil else { return }
                self.introduce(map)
            }
            : nil
        let state = self.state
        let transport = try await QUICTransport.start(
            host: host, port: configuration.cluster.quicPort, credentials: credentials, handler: router, joinHandler: join,
            admitsJoiners: { state.hasUnexpiredToken(nowMs: Self.nowMs()) || (join?.formationAnswers() ?? false) })
        let previous = quic.withLock { current -> QUICTransport? in
            defer { current = transport }
            return current
        }
        try? await previous?.close()
        do {
            try await waitForPool()
        } catch {
            await finish()
            throw error
        }
    }

    func finish() async {
        let transport = quic.withLock { transport -> QUICTransport? in
            defer { transport = nil }
            return transport
        }
        try? await transport?.close()
    }

    var services: [any Service] { [HeartbeatService(runtime: self)] }

    func observeLiveness(_ changed: @escaping @Sendable () async -> Void) {
        livenessObserver.withLock { $0 = changed }
    }

    func pools() -> [PoolLayout]? { Self.layouts(map.withLock { $0 }) }

    var ballotIndex: Int? { map.withLock { $0.member(local.rawValue)?.index } }

    func observePools(_ changed: @escaping @Sendable ([PoolLayout]) async -> Void) {
        poolObserver.withLock { $0 = changed }
    }

    /// Asks the members for a newer map and hands its pools to the backend before returning,
    /// so a request that named an unknown pool can be retried at once.
    func catchUp(toPools count: Int) async {
        if map.withLock({ $0.pools.count }) < count { await fetchNewerMap() }
        if let observer = poolObserver.withLock({ $0 }) { await observer(Self.layouts(map.withLock { $0 })) }
    }

    static func layouts(_ map: ClusterMap) -> [PoolLayout] {
        map.pools.map { PoolLayout(deploymentID: $0.deploymentID, sets: $0.sets, owners: $0.drives.mapValues(\.node)) }
    }

    /// A node's liveness changed: the backend looks at the other nodes' drives again.
    func livenessChanged() async {
        await livenessObserver.withLock({ $0 })?()
    }

    func membership() -> ClusterStatus.Membership? {
        let map = self.map.withLock { $0 }
        let (standing, liveness) = detector.withLock { detector in
            (detector.standing, Dictionary(uniqueKeysWithValues: map.members.map { ($0.id, detector.liveness(of: NodeID($0.id))) }))
        }
        return ClusterStatus.Membership(
            clusterID: map.clusterID, epoch: map.epoch, local: local.rawValue, standing: standing.rawValue,
            members: map.members.map { member in
                ClusterStatus.Membership.Member(
                    id: member.id, address: member.address, pool: member.pool, liveness: (liveness[member.id] ?? nil)?.rawValue ?? "unknown")
            },
            registerEpoch: registerEpoch.withLock { $0 })
    }

    /// Until the map places this node's drives in a pool: reread the map file (the node that
    /// formed the cluster changes it there) and ask the other members for a newer one. Then
    /// write the drives' formats, once.
    private func waitForPool() async throws {
        var waited = 0
        while true {
            let current = try adopt(try state.readMap())
            introduce(current)
            let formats = current.formats(of: local.rawValue)
            if !formats.isEmpty {
                let configured = Set(configuration.cluster.drives.paths), placed = Set(formats.map(\.path))
                guard configured == placed else {
                    throw ClusterAdministration.Refused(description: "the cluster map places this node's drives at \(placed.sorted()); cluster.drives.paths lists \(configured.sorted())")
                }
                // Only the first time (F2, F19): once this node's drives are formed, a drive that
                // comes back empty (a replaced disk, a mount that failed) is never formatted
                // again here; ClusterStartup reports it and it stays out of the sets.
                let pool = current.pools[current.member(local.rawValue)!.pool!]
                guard !state.formedDrives(deploymentID: pool.deploymentID) else { return }
                try ClusterFormation.formOwnDrives(formats, durable: true)
                try state.recordFormedDrives(deploymentID: pool.deploymentID)
                return
            }
            if waited % 20 == 0 {
                logger.notice("waiting for this node's pool to form (stowage cluster expand: the first pool on the node that formed the cluster, later ones on any serving member)", metadata: [
                    "node": "\(local)", "epoch": "\(current.epoch)", "spares": "\(current.spares.map(\.id))",
                ])
            }
            await fetchNewerMap()
            try await Task.sleep(for: .milliseconds(500))
            waited += 1
        }
    }

    /// Keeps the newer of `candidate` and what this node has, durably. A newer map that is not
    /// this node's map grown (a fork: nodes and pools are append-only) is refused, unless
    /// `replacing` (the register's map, chosen by a quorum, over a map file that is not its past).
    @discardableResult
    func adopt(_ candidate: ClusterMap, replacing: Bool = false) throws -> ClusterMap {
        let current = map.withLock { $0 }
        guard candidate.supersedes(current) || (replacing && candidate != current) else { return current }
        guard replacing || candidate.extends(current) else {
            logger.error("a newer cluster map that is not this node's map grown was refused", metadata: [
                "epoch": "\(candidate.epoch)", "this node's epoch": "\(current.epoch)",
            ])
            return current
        }
        try state.locked {
            let onDisk = (try? state.readMap()) ?? current
            if replacing || candidate.supersedes(onDisk) { try state.writeMap(candidate) }
        }
        let gainedPools = map.withLock { map -> Bool in
            guard replacing || candidate.supersedes(map) else { return false }
            defer { map = candidate }
            return candidate.pools.count > map.pools.count
        }
        let now = Self.nowMs()
        detector.withLock { detector in
            for member in candidate.members { detector.add(NodeID(member.id), atMs: now) }
        }
        logger.notice("cluster map updated", metadata: [
            "epoch": "\(candidate.epoch)", "members": "\(candidate.members.count)", "pools": "\(candidate.pools.count)",
        ])
        if gainedPools, let observer = poolObserver.withLock({ $0 }) {
            let layouts = Self.layouts(candidate)
            Task { await observer(layouts) }
        }
        return map.withLock { $0 }
    }

    /// Tells the QUIC transport where every member listens.
    func introduce(_ map: ClusterMap) {
        guard let transport = quic.withLock({ $0 }) else { return }
        for member in map.members {
            if let address = Self.socketAddress(member.address) { transport.setPeer(NodeID(member.id), at: address) }
        }
    }

    /// Reads the map register (this node's drives open) or else asks every other member for
    /// its map at once (at most 2 s); adopts the newest.
    func fetchNewerMap() async {
        if await fetchFromRegister() { return }
        let others = map.withLock { $0.members.map(\.id) }.filter { $0 != local.rawValue }
        await withTaskGroup(of: ClusterMap?.self) { group in
            for node in others {
                group.addTask { [self] in
                    let fetched = await Self.withDeadline(.seconds(2)) { [self] () -> ClusterMap? in
                        guard let response = try? await send(ClusterRequest(verb: MembershipVerb.map, resource: "cluster"), to: NodeID(node)),
                              response.status == .ok else { return nil }
                        return try? await MembershipBody.decode(ClusterMap.self, from: response.body)
                    }
                    return fetched ?? nil
                }
            }
            for await received in group {
                guard let received else { continue }
                do {
                    introduce(try adopt(received))
                } catch {
                    logger.error("a newer cluster map could not be kept", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// `work`'s result, or nil if it takes longer than `deadline` (it is then cancelled).
    static func withDeadline<T: Sendable>(_ deadline: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await work() }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// `host:port`, IPv4 or bracketed IPv6.
    static func socketAddress(_ text: String) -> SocketAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return try? SocketAddress(ipAddress: host, port: port)
    }

    /// Answers from other members: membership verbs here, everything else to the drives.
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        // A `stowage cluster` command speaks under its node's certificate, alive or not.
        if request.verb != MembershipVerb.expand { detector.withLock { $0.heard(from: sender, atMs: Self.nowMs()) } }
        switch request.verb {
        case MembershipVerb.map:
            return ClusterResponse(status: .ok, body: MembershipBody.encode(map.withLock { $0 }))
        case MembershipVerb.expand:
            return await expandPool()
        case MembershipVerb.heartbeat:
            var fields = HTTPFields()
            fields[ClusterRequest.epoch] = String(map.withLock { $0.epoch })
            return ClusterResponse(status: .ok, fields: fields)
        default:
            guard let handler = driveHandler.withLock({ $0 }) else {
                return MembershipBody.refusal(.serviceUnavailable, "node \(local) serves no drives yet")
            }
            return try await handler.handle(request, from: sender)
        }
    }
}

/// The QUIC endpoint's handler: the runtime (a cycle through the endpoint that `finish()` breaks).
struct NodeRequestRouter: ClusterRequestHandler {
    let runtime: ClusterNodeRuntime
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        try await runtime.handle(request, from: sender)
    }
}
