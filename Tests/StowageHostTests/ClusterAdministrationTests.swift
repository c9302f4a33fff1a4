import Foundation
@testable import Stowage
import StowageCluster
import StowageCore
import StowageQUIC
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

    /// A copy of the CA (CLUSTER.md §9) before the first pool forms: the founder's map file is
    /// the only map then, so the copy is refused, and a member that somehow holds one neither
    /// forms a pool 0 of its own nor issues tokens. Exported, the CA goes only into a new file.
    @Test func aCopyOfTheCAChangesNothingBeforeTheFirstPool() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-admin-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        func node(_ name: String, port: Int) throws -> StowageConfiguration {
            let drives = (0..<3).map { "\(root)/\(name)/d\($0)" }
            for drive in drives { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
            var configuration = StowageConfiguration()
            configuration.storage.directory = "\(root)/\(name)/state"
            configuration.storage.fsync = true
            configuration.cluster.enabled = true
            configuration.cluster.nodeId = name
            configuration.cluster.quicAddress = "127.0.0.1"
            configuration.cluster.quicPort = port
            configuration.cluster.drives.paths = drives
            configuration.cluster.erasure.dataShards = 2
            configuration.cluster.erasure.parityShards = 1
            return configuration
        }
        let a = try node("node-a", port: 4001), b = try node("node-b", port: 4002)
        _ = try ClusterAdministration.initialize(a)
        let exported = "\(root)/ca.json"
        _ = try ClusterAdministration.exportAuthority(a, to: exported)
        let mode = try FileManager.default.attributesOfItem(atPath: exported)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect { try ClusterAdministration.exportAuthority(a, to: exported) } throws: { "\($0)".contains("exists already") }
        // node-b, a member in node-a's map (as a join would leave it), with no pool yet.
        let stateA = NodeStateDirectory(a), stateB = NodeStateDirectory(b)
        var map = try stateA.readMap()
        try map.admit(try ClusterAdministration.member(b))
        let authority = try stateA.authority(clusterID: map.clusterID)
        try stateB.writeMap(map)
        try authority.issue(nodeID: "node-b").write(to: stateB.tlsDirectory)
        #expect { try ClusterAdministration.importAuthority(b, from: exported) } throws: { "\($0)".contains("first pool has not formed") }
        #expect(!stateB.holdsAuthority)
        // Had it a copy anyway: no pool 0 and no token from it.
        try stateB.writeAuthority(authority)
        await #expect { _ = try await ClusterAdministration.expand(b) } throws: { "\($0)".contains("node that formed the cluster") }
        #expect { _ = try ClusterAdministration.issueToken(b, ttlSeconds: 60) } throws: { "\($0)".contains("node that formed the cluster") }
        #expect(try stateB.readMap() == map)
    }
}
