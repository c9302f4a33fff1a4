import Foundation
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

    /// Writes one node's drives as its cluster map places them (``ClusterMap/formats(of:)``):
    /// a drive without a format gets its format and an empty catalog; one that already carries
    /// this very format (a node restarting mid-formation) is left alone; anything else is
    /// refused, and nothing is written to any drive.
    public static func formOwnDrives(_ formats: [(path: String, format: DriveFormat)], durable: Bool) throws {
        var pending: [(path: String, format: DriveFormat)] = []
        for (path, format) in formats {
            switch DriveFormatFile.read(drive: path) {
            case .unformatted: pending.append((path, format))
            case .formatted(let existing) where existing == format: continue
            case .formatted(let existing):
                throw ClusterStartup.Refused(description: "drive \(path) is formatted for another deployment (cluster \(existing.clusterID), drive \(existing.driveUUID)); the cluster map places drive \(format.driveUUID) there")
            case .unreadable(let reason):
                throw ClusterStartup.Refused(description: "drive \(path) cannot be formed: \(reason)")
            }
        }
        // The catalog before the format: a crash between the two leaves a drive still
        // unformatted (formed again next time), never a formatted drive without its catalog
        // (which would count as one that lost its state, F2).
        for (path, format) in pending {
            try FileManager.default.createDirectory(atPath: DriveLayout(drive: path).stowageDirectory, withIntermediateDirectories: true)
            let catalog = try DriveCatalog.open(path: DriveLayout(drive: path).catalogPath, durable: durable, logger: Logger(label: "stowage-formation"))
            try catalog.close()
            try DriveFormatFile.write(format, drive: path, durable: durable)
        }
    }
}
