import StowageCORS
import StowageCluster
public import StowageCore
import StowageFileStore
import StowageInProcessTransport
import StowagePolicy
import StowageRouting
import StowageSigV4
import StowageXML

extension PluginRegistry {
    /// The plugins that ship with Stowage: the `filestore` and `cluster` backends; the `xml`, `routing`, `cors`,
    /// `sigv4` and `policy` stages; the `health`, `metrics` and `reset` endpoints; the
    /// `inprocess` cluster transport. Start from this and register your own beside them.
    ///
    /// ```swift
    /// var registry = PluginRegistry.builtIn
    /// registry.registerBackend("memory") { _ in InMemoryBackend() }
    /// ```
    public static var builtIn: PluginRegistry {
        var registry = PluginRegistry()
        registry.registerBackend("filestore") { environment in
            let storage = environment.configuration.storage
            return FileStoreBackend(
                options: .init(directory: storage.directory, cleanSlate: storage.cleanSlate, fsync: storage.fsync),
                logger: environment.logger
            )
        }
        registry.registerBackend("cluster") { environment in
            let configuration = environment.configuration
            try configuration.validateCluster()
            let erasure = configuration.cluster.erasure
            // A node of a multi-process cluster (`stowage cluster init` or `join` gave it an
            // identity): its drives' other nodes are reached over QUIC.
            var runtime: ClusterNodeRuntime?
            if NodeStateDirectory(configuration).isMember {
                runtime = try ClusterNodeRuntime(configuration: configuration, logger: environment.logger)
            } else if !configuration.cluster.seedNodes.isEmpty {
                // Never serve alone what is meant to join others: writes taken now would be
                // stranded on a deployment of its own.
                throw ConfigurationError(field: "cluster.seedNodes", reason: "lists a cluster to join, but this node has no cluster identity in \(configuration.clusterStateDirectory): run `stowage cluster join <token>` (or `stowage cluster init` on the first node) before `stowage serve`, or give every listed node the same cluster.formationSecret (`stowage serve` then forms the cluster; an embedding program calls ClusterAdministration.formFromSeeds first)")
            }
            return ClusterBackend(
                options: .init(
                    drives: configuration.cluster.drives.paths, dataShards: erasure.dataShards, parityShards: erasure.parityShards,
                    chunkSize: erasure.chunkSizeBytes, dataWriteQuorum: erasure.writeQuorum == "data" ? .data : .parity,
                    fsync: configuration.storage.fsync, collectionGrace: .seconds(configuration.cluster.collection.graceSeconds),
                    collectionRate: Double(configuration.cluster.collection.maxPerSecond),
                    // A short grace asks for space back soon: scan every second, not every ten.
                    collectionScanInterval: .seconds(configuration.cluster.collection.graceSeconds < 60 ? 1 : 10),
                    nodeID: runtime?.local.rawValue ?? "local"),
                logger: environment.logger, attach: runtime.map { runtime in { runtime.attach($0) } }, lifecycle: runtime)
        }
        registry.registerBuiltInEndpoints()
        // One network per registry: the nodes one registry builds reach each other in process,
        // and two registries (two tests running side by side) never see each other's nodes.
        let network = InProcessNetwork()
        registry.registerTransport("inprocess") { environment in
            network.attach(environment.local, handler: environment.handler)
        }
        registry.registerStage("xml") { _ in XMLStage() }
        registry.registerStage("routing") { environment in
            RoutingStage(domains: environment.configuration.server.domains)
        }
        registry.registerStage("cors") { environment in
            CORSStage(backend: environment.backend, global: environment.configuration.cors)
        }
        registry.registerStage("sigv4") { environment in
            SigV4Stage(configuration: environment.configuration)
        }
        registry.registerStage("policy") { environment in
            PolicyStage(
                backend: try environment.requireBackend(for: "policy"), enforce: environment.configuration.auth.enabled,
                users: environment.configuration.auth.credentials.map(\.identity)
            )
        }
        return registry
    }
}
