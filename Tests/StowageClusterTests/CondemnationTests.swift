import Foundation
import Logging
import NIOCore
import StowageCore
import Testing
@testable import StowageCluster

/// A collector run's condemnation, on drives that hold the data and on drives that do not:
/// each run acts under its own only, and a drive that holds none of the data cannot come to
/// hold it while condemned.
@Suite(.timeLimit(.minutes(2)))
struct CondemnationTests {
    let address = ObjectAddress(bucket: "condemn", key: "k")

    private func backend(_ drives: TempDrives) async throws -> ClusterBackend {
        let backend = ClusterBackend(
            options: .init(drives: drives.paths, chunkSize: 64 << 10, inlineLimit: 4 << 10, collectionGrace: .zero),
            logger: Logger(label: "test"))
        try await backend.open()
        _ = try await backend.createBucket("condemn", owner: .anonymous, region: "us-east-1")
        return backend
    }

    private func bytes(_ count: Int, _ seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ Int(seed)) ^ seed } }

    private func put(_ backend: ClusterBackend, _ data: [UInt8]) async throws -> ObjectManifest {
        _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: data)), options: PutObjectOptions())
        return try #require(try await backend.currentManifest(try await backend.locate(address, state: backend.openState())))
    }

    private func read(_ backend: ClusterBackend) async throws -> [UInt8] {
        let result = try await backend.getObject(address, options: GetObjectOptions())
        switch result.content {
        case .bytes(let buffer): return Array(buffer.readableBytesView)
        case .stream(let body, _): return Array(try await body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge)).readableBytesView)
        default: return []
        }
    }

    private func shardFiles(_ backend: ClusterBackend, _ manifest: ObjectManifest) throws -> Int {
        try backend.openState().drives.flatMap { drive in
            manifest.parts.flatMap { part in (0..<6).map { drive.layout.shardPath(dataRef: Array(manifest.versionID), part: part.number, slot: $0) } }
        }.filter { FileManager.default.fileExists(atPath: $0) }.count
    }

    /// Two runs on one data ref: the later condemnation replaces the earlier; the earlier run
    /// then neither releases the later one's nor deletes under it.
    @Test func aRunActsOnlyUnderItsOwnCondemnation() async throws {
        let backend = try await backend(TempDrives(count: 6))
        let version = try await put(backend, bytes(100_000, 1))
        _ = try await put(backend, bytes(100_000, 2))
        let catalog = try #require(try backend.openState().drives[0].catalog)
        let ref = Array(version.versionID)
        let first: [UInt8] = Array("first".utf8), second: [UInt8] = Array("second".utf8)

        #expect(try await catalog.condemn(dataRef: ref, token: first))
        #expect(try await catalog.condemn(dataRef: ref, token: second))
        #expect(try await catalog.isCondemned(dataRef: ref, token: first) == false)
        #expect(try await catalog.isCondemned(dataRef: ref, token: second))
        try await catalog.release(dataRef: ref, token: first)
        #expect(try await catalog.isCondemned(dataRef: ref, token: second))
        #expect(try await catalog.collect(dataRef: ref, token: first) == nil)
        #expect(try await catalog.collect(dataRef: ref, token: second) == [1])
        #expect(try catalog.holds(dataRef: ref) == false)
        try await backend.close()
    }

    /// A drive that holds none of the data refuses to stage it while the condemnation holds,
    /// and stages it again once the run released it.
    @Test func aDriveWithoutTheDataRefusesToStageItWhileCondemned() async throws {
        let backend = try await backend(TempDrives(count: 6))
        let catalog = try #require(try backend.openState().drives[0].catalog)
        let ref = WriteID.random().bytes
        let run: [UInt8] = Array("run".utf8)
        let owner = RegisterKey(scope: [1], key: [2])

        #expect(try await catalog.condemn(dataRef: ref, token: run) == false)
        #expect(try await catalog.isCondemned(dataRef: ref, token: run))
        await #expect(throws: DriveCatalog.StagingRefused.self) {
            try await catalog.stageInline(dataRef: ref, owner: owner, part: 1, slot: 0, shard: [1, 2, 3], wallMs: WallClock.nowMs())
        }
        #expect(try catalog.inlineShard(dataRef: ref, part: 1, slot: 0) == nil)
        try await catalog.release(dataRef: ref, token: run)
        #expect(try await catalog.isCondemned(dataRef: ref, token: run) == false)
        try await catalog.stage(dataRef: ref, owner: owner, fileParts: [1], wallMs: WallClock.nowMs())
        #expect(try catalog.holds(dataRef: ref))

        // Collected while absent: the absent condemnation goes with the run.
        let other = WriteID.random().bytes
        #expect(try await catalog.condemn(dataRef: other, token: run) == false)
        #expect(try await catalog.collect(dataRef: other, token: run) == nil)
        try await catalog.stage(dataRef: other, owner: owner, fileParts: [1], wallMs: WallClock.nowMs())
        try await backend.close()
    }

    /// A version written while a drive was away has no row on that drive: once overwritten,
    /// its data is still collected (the drive's answer counts; its condemnation holds
    /// though it has nothing to condemn).
    @Test func dataADriveNeverHeldIsCollected() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let state = try backend.openState()
        let format = DriveFormatFile.path(drive: drives.paths[5])
        try FileManager.default.moveItem(atPath: format, toPath: format + ".away")
        for drive in state.drives { drive.probe() }
        #expect(state.drives.filter { $0.online }.count == 5)
        let first = try await put(backend, bytes(300_000, 3))
        #expect(try shardFiles(backend, first) == 5)

        try FileManager.default.moveItem(atPath: format + ".away", toPath: format)
        for drive in state.drives { drive.probe() }
        #expect(state.drives.filter { $0.online }.count == 6)
        _ = try await put(backend, bytes(200_000, 4))
        await backend.collectOrphans()
        #expect(try shardFiles(backend, first) == 0)
        for drive in state.drives { #expect(try drive.catalog?.holds(dataRef: Array(first.versionID)) == false) }
        var pending = 0
        for drive in state.drives { pending += try await drive.catalog?.orphanCount() ?? 0 }
        #expect(pending == 0)
        #expect(try await read(backend) == bytes(200_000, 4))
        try await backend.close()
    }
}
