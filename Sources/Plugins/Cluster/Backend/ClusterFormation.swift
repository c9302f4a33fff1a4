import Logging

/// Forms the drives of several nodes at once: each drive gets its `format.json` (sets
/// interleaved across the nodes, the owner of every drive recorded) and an empty catalog, so
/// every drive starts as a voter (a formatted drive without a catalog is one that lost its
/// state, F2). The nodes then open with ``ClusterBackend`` as usual. Until the cluster map
/// forms deployments at first start (issue 14), this is how a multi-node cluster is formed.
///
/// ```swift
/// try ClusterFormation.formDrives(
///     nodes: [.init(id: "n1", drives: ["/a/d1", "/a/d2"]), .init(id: "n2", drives: [...]), .init(id: "n3", drives: [...])],
///     dataShards: 4, parityShards: 2, chunkSize: 4 << 20, durable: true)
/// ```
public enum ClusterFormation {
    public static func formDrives(
        nodes: [ErasureSetFormation.Node], dataShards: Int, parityShards: Int, chunkSize: Int, durable: Bool
    ) throws {
        let formats = try DriveFormat.form(nodes: nodes, dataShards: dataShards, parityShards: parityShards, chunkSize: chunkSize)
        for (_, drive, _) in formats {
            guard case .unformatted = DriveFormatFile.read(drive: drive) else {
                throw ClusterStartup.Refused(description: "drive \(drive) is already formatted or cannot be read; formation needs empty drives")
            }
        }
        for (_, drive, format) in formats {
            try DriveFormatFile.write(format, drive: drive, durable: durable)
            let catalog = try DriveCatalog.open(path: DriveLayout(drive: drive).catalogPath, durable: durable, logger: Logger(label: "stowage-formation"))
            try catalog.close()
        }
    }
}
