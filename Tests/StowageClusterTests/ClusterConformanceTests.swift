import Foundation
import GRDB
import Logging
import StowageBackendConformance
import StowageCore
import StowageInProcessTransport
import Testing
@testable import StowageCluster

/// The backend conformance suite FileStore passes, run on the cluster backend in the shapes
/// issue 13 names, healthy and degraded (two drives of six gone; one node of three gone; a
/// byte flipped in a data shard of every part of every object written): every case must
/// pass, so every read returns the right bytes and every write the quorum table allows
/// succeeds. Serialized: 123 fresh clusters at
/// once would starve the rest of the suite of CPU (their time limits are real).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClusterConformanceTests {
    enum Shape: String, CaseIterable, Sendable, CustomStringConvertible {
        case oneNodeSixDrives = "1 node × 6 drives, 4+2"
        case oneNodeThreeDrives = "1 node × 3 drives, 2+1"
        case threeNodesTwoDrives = "3 nodes × 2 drives, 4+2, in one process"
        case twoDrivesGone = "1 node × 6 drives, 4+2, two drives gone"
        case oneNodeGone = "3 nodes × 2 drives, 4+2, one node gone"
        case flippedBytes = "1 node × 6 drives, 4+2, a byte flipped in a shard of every object"
        var description: String { rawValue }
    }

    static func arguments(_ shapes: [Shape]) -> [(Shape, ConformanceCase)] {
        shapes.flatMap { shape in BackendConformanceSuite.cases.map { (shape, $0) } }
    }

    @Test(arguments: Self.arguments(Shape.allCases))
    func conformance(_ shape: Shape, _ check: ConformanceCase) async throws {
        try await Self.run(check, on: shape)
    }

    static func run(_ check: ConformanceCase, on shape: Shape) async throws {
        let cluster = try await ConformanceCluster(shape)
        defer { cluster.remove() }
        // Requests go through every node in turn on the 3-node shape.
        try await check.run(cluster.entry)
        await cluster.close()
    }
}

/// One fresh cluster for one conformance case, in a temporary directory.
final class ConformanceCluster: Sendable {
    let root: String
    let backends: [ClusterBackend]
    let entry: any StorageBackend

    init(_ shape: ClusterConformanceTests.Shape) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-conf-\(UUID().uuidString)").path
        self.root = root
        let logger = Logger(label: "test")
        switch shape {
        case .oneNodeSixDrives, .oneNodeThreeDrives, .twoDrivesGone, .flippedBytes:
            let count = shape == .oneNodeThreeDrives ? 3 : 6
            let drives = (1...count).map { "\(root)/d\($0)" }
            for drive in drives { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
            let backend = ClusterBackend(
                options: .init(drives: drives, dataShards: count == 6 ? 4 : 2, parityShards: count == 6 ? 2 : 1, chunkSize: 64 << 10, inlineLimit: 4 << 10),
                logger: logger)
            try await backend.open()
            backends = [backend]
            if shape == .twoDrivesGone {
                for drive in drives.suffix(2) { try FileManager.default.moveItem(atPath: drive, toPath: drive + "-gone") }
                await backend.probeDrives()
            }
        case .threeNodesTwoDrives, .oneNodeGone:
            let nodes = (0..<3).map { node in ErasureSetFormation.Node(id: "n\(node)", drives: (0..<2).map { "\(root)/n\(node)/d\($0)" }) }
            for drive in nodes.flatMap(\.drives) { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
            try ClusterFormation.formDrives(nodes: nodes, dataShards: 4, parityShards: 2, chunkSize: 64 << 10, durable: true)
            let network = InProcessNetwork()
            backends = nodes.map { node in
                ClusterBackend(
                    options: .init(drives: node.drives, chunkSize: 64 << 10, fsync: true, inlineLimit: 4 << 10, nodeID: node.id),
                    logger: logger
                ) { network.attach(NodeID(node.id), handler: $0) }
            }
            for backend in backends { try await backend.open() }
            if shape == .oneNodeGone {
                network.detach(NodeID("n2"))
                try await backends[2].close()
                for backend in backends.prefix(2) { await backend.probeDrives() }
            }
        }
        switch shape {
        case .oneNodeSixDrives, .oneNodeThreeDrives, .twoDrivesGone: entry = backends[0]
        case .threeNodesTwoDrives: entry = RoundRobinBackend(backends)
        case .oneNodeGone: entry = RoundRobinBackend(Array(backends.prefix(2)))
        case .flippedBytes:
            let backend = backends[0]
            entry = RoundRobinBackend([backend]) { await Self.flipAByte(of: $0, in: backend) }
        }
    }

    /// Flips one byte of the first data shard of every part of the object's current version:
    /// in its shard file, or in the catalog row of an inline shard. Every read of it must then
    /// reconstruct that shard.
    static func flipAByte(of address: ObjectAddress, in backend: ClusterBackend) async {
        guard let state = try? backend.openState(), let located = try? await backend.locate(address, state: state),
              let manifest = try? await backend.currentManifest(located)
        else { return }
        for part in manifest.parts where part.size > 0 {
            let slot = part.slots[0]
            guard let drive = located.set.drives[slot] as? ClusterDrive, let catalog = drive.catalog else { continue }
            let versionID = Array(manifest.versionID)
            if part.inline {
                try? await catalog.pool.write { db in
                    guard var bytes = try Data.fetchOne(db, sql: "SELECT bytes FROM inline WHERE data_ref = ? AND part = ? AND slot = ?",
                                                        arguments: [Data(versionID), part.number, slot]) else { return }
                    bytes[bytes.startIndex + 4] ^= 0x5A
                    try db.execute(sql: "UPDATE inline SET bytes = ? WHERE data_ref = ? AND part = ? AND slot = ?",
                                   arguments: [bytes, Data(versionID), part.number, slot])
                }
            } else {
                let fd = open(drive.layout.shardPath(dataRef: versionID, part: part.number, slot: slot), O_RDWR)
                guard fd >= 0 else { continue }
                var byte: UInt8 = 0
                if pread(fd, &byte, 1, 4) == 1 {
                    byte ^= 0x5A
                    _ = pwrite(fd, &byte, 1, 4)
                }
                Glibc.close(fd)
            }
        }
    }

    func close() async {
        for backend in backends { try? await backend.close() }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
