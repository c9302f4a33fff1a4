import Foundation
import HTTPTypes
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

    /// Two runs on one data ref: the second cannot take over the first's live condemnation
    /// (the first may be deleting shards elsewhere), and its release leaves the first's in
    /// place, so a late accept is still refused; once the first collected, a stage within its
    /// lease is refused too.
    @Test func aRunNeverTakesOverAnothersCondemnation() async throws {
        let backend = try await backend(TempDrives(count: 6))
        let version = try await put(backend, bytes(100_000, 1))
        _ = try await put(backend, bytes(100_000, 2))
        let state = try backend.openState()
        let catalog = try #require(state.drives[0].catalog)
        let ref = Array(version.versionID)
        let first: [UInt8] = Array("first".utf8), second: [UInt8] = Array("second".utf8)

        #expect(try await catalog.condemn(dataRef: ref, token: first))
        await #expect(throws: DriveCatalog.CondemnedByAnotherRun.self) { try await catalog.condemn(dataRef: ref, token: second) }
        #expect(try await catalog.isCondemned(dataRef: ref, token: first))
        #expect(try await catalog.isCondemned(dataRef: ref, token: second) == false)
        try await catalog.release(dataRef: ref, token: second)
        #expect(try await catalog.collect(dataRef: ref, token: second) == nil)
        #expect(try await catalog.isCondemned(dataRef: ref, token: first))
        // A late accept carrying the data is still refused under the first run's condemnation.
        let located = try await backend.locate(address, state: state)
        let ballot = try await located.set.coordinator.clock.issue(above: nil)
        let late = try await catalog.apply(
            .accept(ballot, RegisterValue(writeID: .random(), payload: [1], dataRef: ref), carriesData: true),
            to: located.key, wallMs: WallClock.nowMs(), isVoter: true)
        #expect(late == .noData)

        #expect(try await catalog.collect(dataRef: ref, token: first) == [1])
        #expect(try catalog.holds(dataRef: ref) == false)
        await #expect(throws: DriveCatalog.StagingRefused.self) {
            try await catalog.stage(dataRef: ref, owner: located.key, fileParts: [1], wallMs: WallClock.nowMs())
        }
        // An expired condemnation is anyone's: the second run takes it once the first's lapsed.
        let other = try await put(backend, bytes(100_000, 3))
        _ = try await put(backend, bytes(100_000, 4))
        #expect(try await catalog.condemn(dataRef: Array(other.versionID), token: first, leaseMs: 1))
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await catalog.condemn(dataRef: Array(other.versionID), token: second))
        try await backend.close()
    }

    /// The collector verbs need a run token; a bucket fence's end is a literal; a stage may
    /// come without an owner (a writer older than owners).
    @Test func theWireRefusesWhatItCannotRead() async throws {
        let backend = try await backend(TempDrives(count: 6))
        let drive = try backend.openState().drives[0]
        let handler = DriveRequestHandler(lookup: { _ in .drive(drive) })
        func send(_ verb: DataVerb, _ extra: [HTTPField.Name: String], body: [UInt8] = []) async throws -> HTTPResponse.Status {
            var fields = HTTPFields()
            fields[DriveRequestHandler.driveField] = "d0"
            fields[DataVerb.dataRef] = "0a0b"
            for (name, value) in extra { fields[name] = value }
            let request = ClusterRequest(verb: verb.rawValue, resource: "drive/d0", fields: fields, body: S3Body(ByteBuffer(bytes: body)))
            return try await handler.handle(request, from: NodeID("n1")).status
        }
        #expect(try await send(.condemn, [:]) == .badRequest)
        #expect(try await send(.condemn, [DataVerb.token: ""]) == .badRequest)
        #expect(try await send(.condemn, [DataVerb.token: "0102"]) == .ok)
        #expect(try await send(.release, [DataVerb.token: "0102"]) == .ok)
        #expect(try await send(.bucketFence, [DataVerb.token: "01", DataVerb.until: "soon"]) == .badRequest)
        #expect(try await send(.bucketFence, [DataVerb.token: "", DataVerb.until: "open"]) == .badRequest)
        #expect(try await send(.stage, [DataVerb.inline: "1", DataVerb.ownerScope: "zz", DataVerb.ownerKey: "01"], body: [1, 2]) == .badRequest)
        #expect(try await send(.stage, [DataVerb.inline: "1"], body: [1, 2]) == .ok)
        #expect(try drive.catalog?.holds(dataRef: [0x0a, 0x0b]) == true)
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

        // Collected while absent: the caller removes its own list of files (nothing here names
        // them), and a late stage is still refused until the lease ends.
        let other = WriteID.random().bytes
        #expect(try await catalog.condemn(dataRef: other, token: run) == false)
        #expect(try await catalog.collect(dataRef: other, token: run) == [])
        await #expect(throws: DriveCatalog.StagingRefused.self) {
            try await catalog.stage(dataRef: other, owner: owner, fileParts: [1], wallMs: WallClock.nowMs())
        }
        // Another run's absent condemnation is not taken over either, until it lapses.
        await #expect(throws: DriveCatalog.CondemnedByAnotherRun.self) { try await catalog.condemn(dataRef: other, token: [9]) }
        let brief = WriteID.random().bytes
        #expect(try await catalog.condemn(dataRef: brief, token: run, leaseMs: 1) == false)
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await catalog.condemn(dataRef: brief, token: [9]) == false)
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
