public import StowageCore
import StowageFileStore
import StowageRouting
import StowageXML

extension PluginRegistry {
    /// The plugins that ship with Stowage: the `filestore` backend and the `xml` and
    /// `routing` stages. Start from this and register your own beside them.
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
        registry.registerStage("xml") { _ in XMLStage() }
        registry.registerStage("routing") { _ in RoutingStage() }
        return registry
    }
}
