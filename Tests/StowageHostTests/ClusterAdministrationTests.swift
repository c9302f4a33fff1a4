import Foundation
@testable import Stowage
import StowageCluster
import StowageCore
import Testing

/// `stowage cluster init` and `join` on a node whose drives already belong to a cluster: the
/// node lost its state directory, and forming anew would found a second cluster over them.
@Suite struct ClusterAdministrationTests {
    @Test func drivesOfAClusterAreNeverFormedOrJoinedAnew() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-admin-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let drives = (0..<3).map { "\(root)/d\($0)" }
        for drive in drives { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
        var configuration = StowageConfiguration()
        configuration.storage.directory = root + "/state"
        configuration.storage.fsync = true
        configuration.cluster.enabled = true
        configuration.cluster.nodeId = "node-a"
        configuration.cluster.quicAddress = "127.0.0.1"
        configuration.cluster.drives.paths = drives
        configuration.cluster.erasure.dataShards = 2
        configuration.cluster.erasure.parityShards = 1
        // Empty drives: init forms a cluster.
        #expect(try ClusterAdministration.initialize(configuration).hasPrefix("formed cluster"))
        // The drives carry a format now; the state directory is lost.
        for (path, format) in zip(drives, try DriveFormat.form(drivePaths: drives, dataShards: 2, parityShards: 1, chunkSize: 1 << 20)) {
            try DriveFormatFile.write(format, drive: path, durable: false)
        }
        try FileManager.default.removeItem(atPath: root + "/state")
        #expect { try ClusterAdministration.initialize(configuration) } throws: { error in
            "\(error)".contains("already belongs to cluster") && "\(error)".contains("restore this node's state directory")
        }
        await #expect {
            _ = try await ClusterAdministration.join(configuration, token: "x", seeds: ["127.0.0.1:1"])
        } throws: { error in
            "\(error)".contains("already belongs to cluster")
        }
        #expect(!NodeStateDirectory(configuration).isMember)
    }
}
