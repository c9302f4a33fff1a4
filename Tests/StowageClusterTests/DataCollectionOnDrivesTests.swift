import Foundation
import Logging
import NIOCore
import StowageCore
import Testing
@testable import StowageCluster

/// The collector on a real 6-drive backend: data a write left behind goes only when the
/// reference rule allows, and never while a value references it.
@Suite struct DataCollectionOnDrivesTests {
    final class Drives: Sendable {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-gc-\(UUID().uuidString)").path
        var paths: [String] { (1...6).map { "\(root)/d\($0)" } }
        init() {
            for path in paths { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    private func backend(_ drives: Drives) async throws -> ClusterBackend {
        let backend = ClusterBackend(
            options: .init(drives: drives.paths, chunkSize: 64 << 10, inlineLimit: 4 << 10, collectionGrace: .zero),
            logger: Logger(label: "test"))
        try await backend.open()
        _ = try await backend.createBucket("gc-test", owner: .anonymous, region: "us-east-1")
        return backend
    }

    private func body(_ count: Int, _ fill: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ fill } }

    /// Stages `bytes` as a write would, without writing the register (a coordinator that
    /// died after staging).
    private func stage(_ bytes: [UInt8], on backend: ClusterBackend, _ address: ObjectAddress) async throws
        -> (versionID: [UInt8], located: ClusterBackend.Located, part: ObjectManifest.Part)
    {
        let state = try backend.openState()
        let located = try await backend.locate(address, state: state)
        let versionID = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let staged = try await backend.stage(
            body: S3Body(ByteBuffer(bytes: bytes)), options: PutObjectOptions(), versionID: versionID, located: located, state: state)
        return (versionID, located, staged.part)
    }

    private func read(_ backend: ClusterBackend, _ address: ObjectAddress) async throws -> [UInt8] {
        try await backend.bytes(of: address)
    }

    private func shardFiles(_ staged: (versionID: [UInt8], located: ClusterBackend.Located, part: ObjectManifest.Part)) -> Int {
        staged.located.set.localDrives.enumerated().filter { slot, drive in
            guard let drive else { return false }
            return FileManager.default.fileExists(atPath: drive.layout.shardPath(dataRef: staged.versionID, part: staged.part.number, slot: slot))
        }.count
    }

    @Test(arguments: [100_000, 1_000])
    func stagingNoAcceptReachedIsCollected(size: Int) async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        let address = ObjectAddress(bucket: "gc-test", key: "k")
        let current = body(size, 1)
        _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: current)), options: PutObjectOptions())
        let orphan = try await stage(body(size, 2), on: backend, address)
        if !orphan.part.inline { #expect(shardFiles(orphan) == 6) }

        let verdict = await backend.collect(.init(versionID: orphan.versionID, located: orphan.located, parts: [orphan.part], due: .now))
        #expect(verdict == .collect)
        #expect(shardFiles(orphan) == 0)
        for drive in orphan.located.set.localDrives.compactMap({ $0 }) {
            // Rows gone: a late accept carrying this data is refused (and, within the run's
            // lease, a late stage of it too).
            #expect(try drive.catalog!.holds(dataRef: orphan.versionID) == false)
            await #expect(throws: DriveCatalog.StagingRefused.self) {
                try await drive.catalog!.stage(dataRef: orphan.versionID, owner: orphan.located.key, fileParts: [1], wallMs: WallClock.nowMs())
            }
        }
        #expect(try await read(backend, address) == current)
        try await backend.close()
    }

    /// A write whose client saw "outcome unknown" but that was chosen: its data is live.
    @Test func dataOfAChosenWriteIsKept() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        let address = ObjectAddress(bucket: "gc-test", key: "k")
        let bytes = body(100_000, 3)
        _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: bytes)), options: PutObjectOptions())
        let state = try backend.openState()
        let located = try await backend.locate(address, state: state)
        guard case .found(let chosen?) = await located.set.coordinator.read(key: located.key) else {
            Issue.record("no chosen value")
            return
        }
        let manifest = try ObjectManifest.decode(chosen.value)
        let job = ClusterBackend.CollectionJob(
            versionID: Array(manifest.versionID), located: located, parts: manifest.parts, due: .now)
        #expect(await backend.collect(job) == .keep(.chosenValueReferencesIt))
        #expect(shardFiles((job.versionID, located, job.parts[0])) == 6)
        #expect(try await read(backend, address) == bytes)
        // Released: an overwrite's accepts adopt data as usual.
        let next = body(50_000, 4)
        _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: next)), options: PutObjectOptions())
        #expect(try await read(backend, address) == next)
        try await backend.close()
    }

    /// A partial accept (one drive) superseded by a later write: nothing can roll it forward.
    @Test func partialAcceptSupersededIsCollected() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        let address = ObjectAddress(bucket: "gc-test", key: "k")
        let lost = try await stage(body(100_000, 5), on: backend, address)
        let set = lost.located.set
        let ballot = try await set.coordinator.clock.issue(above: nil)
        let value = RegisterValue(writeID: .random(), payload: [1], dataRef: lost.versionID)
        let reply = try await set.localDrives[0]!.catalog!.apply(
            .accept(ballot, value, carriesData: true), to: lost.located.key, wallMs: WallClock.nowMs(), isVoter: true)
        #expect(reply == .accepted(voter: true, holdsData: true))
        let winner = body(70_000, 6)
        _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: winner)), options: PutObjectOptions())

        let verdict = await backend.collect(.init(versionID: lost.versionID, located: lost.located, parts: [lost.part], due: .now))
        #expect(verdict == .collect)
        #expect(shardFiles(lost) == 0)
        #expect(try await read(backend, address) == winner)
        try await backend.close()
    }

    /// Review finding, scripted: a reader prepared at β1 has found the in-doubt value v and is
    /// about to write it back; meanwhile a partial write z covers v on the only drive that held
    /// it, so every drive shows x or z and a plain read returns x chosen. Collecting v then and
    /// letting the reader's accepts land chose v with its data gone. The collector's settling
    /// read promises a higher ballot on a quorum first, so the reader's write-back cannot win.
    @Test func aWriteBackPreparedBeforeCollectionCannotChooseCollectedData() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        let address = ObjectAddress(bucket: "gc-test", key: "k")
        _ = try await backend.putObject(address, body: S3Body(ByteBuffer(bytes: body(70_000, 8))), options: PutObjectOptions())
        let v = try await stage(body(100_000, 9), on: backend, address)
        let catalogs = v.located.set.localDrives.map { $0!.catalog! }
        let key = v.located.key
        let other = NodeClock(nodeIndex: 9, reservedUpToMs: 0) { _ in }
        func apply(_ slot: Int, _ request: AcceptorRequest) async throws -> AcceptorReply {
            try await catalogs[slot].apply(request, to: key, wallMs: WallClock.nowMs(), isVoter: true)
        }
        // The fenced writer's v, accepted on drive 0 only.
        let vValue = RegisterValue(writeID: .random(), payload: [1], dataRef: v.versionID)
        let bw = try await other.issue(above: nil)
        #expect(try await apply(0, .accept(bw, vValue, carriesData: true)) == .accepted(voter: true, holdsData: true))
        // A reader prepares β1 on drives 0–3 and finds v as the newest value.
        let beta1 = try await other.issue(above: bw)
        for slot in 0..<4 { _ = try await apply(slot, .prepare(beta1)) }
        // A partial write z covers v on drive 0.
        let betaZ = try await other.issue(above: beta1)
        let z = RegisterValue(writeID: .random(), payload: [2])
        #expect(try await apply(0, .accept(betaZ, z, carriesData: false)) == .accepted(voter: true, holdsData: false))

        let verdict = await backend.collect(.init(versionID: v.versionID, located: v.located, parts: [v.part], due: .now))
        // The reader's write-back of v lands now, everywhere but drive 0.
        var accepted = 0
        for slot in 1..<6 {
            if case .accepted = try await apply(slot, .accept(beta1, vValue, carriesData: false)) { accepted += 1 }
        }
        if verdict == .collect {
            #expect(accepted < 4, "v was collected, then chosen by a write-back prepared before the collection")
        }
        #expect(verdict == .collect, "nothing chosen references v: it should go")
        try await backend.close()
    }

    /// Condemned data cannot be adopted; released data can.
    @Test func condemnedDataRefusesAccepts() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        let address = ObjectAddress(bucket: "gc-test", key: "k")
        let staged = try await stage(body(10_000, 7), on: backend, address)
        let catalog = staged.located.set.localDrives[1]!.catalog!
        let value = RegisterValue(writeID: .random(), payload: [1], dataRef: staged.versionID)
        #expect(try await catalog.condemn(dataRef: staged.versionID))
        let ballot = try await staged.located.set.coordinator.clock.issue(above: nil)
        let refused = try await catalog.apply(.accept(ballot, value, carriesData: true), to: staged.located.key, wallMs: WallClock.nowMs(), isVoter: true)
        #expect(refused == .noData)
        try await catalog.release(dataRef: staged.versionID)
        let accepted = try await catalog.apply(.accept(ballot, value, carriesData: true), to: staged.located.key, wallMs: WallClock.nowMs(), isVoter: true)
        #expect(accepted == .accepted(voter: true, holdsData: true))
        try await backend.close()
    }

    /// A condemnation is a lease of the drive's clock: once it expires (its collector died,
    /// perhaps on another node) the data can be adopted again, and an adopted row is never
    /// collected, however the clock moves after.
    @Test func anExpiredCondemnationNeitherRefusesNorCollects() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        let staged = try await stage(body(10_000, 8), on: backend, ObjectAddress(bucket: "gc-test", key: "k"))
        let catalog = staged.located.set.localDrives[2]!.catalog!
        let value = RegisterValue(writeID: .random(), payload: [1], dataRef: staged.versionID)
        #expect(try await catalog.condemn(dataRef: staged.versionID, leaseMs: 1))
        try await Task.sleep(for: .milliseconds(20))
        let ballot = try await staged.located.set.coordinator.clock.issue(above: nil)
        let accepted = try await catalog.apply(.accept(ballot, value, carriesData: true), to: staged.located.key, wallMs: WallClock.nowMs(), isVoter: true)
        #expect(accepted == .accepted(voter: true, holdsData: true))
        #expect(try await catalog.collect(dataRef: staged.versionID) == nil)
        // Condemned again with a live lease: the adopted row is condemned, and collect (the
        // rule said so, in this scripted case) deletes it; an expired lease never does.
        #expect(try await catalog.condemn(dataRef: staged.versionID, leaseMs: 1))
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await catalog.collect(dataRef: staged.versionID) == nil)
        #expect(try await catalog.condemn(dataRef: staged.versionID))
        // The row names its shard file (part 1) for the caller to remove.
        #expect(try await catalog.collect(dataRef: staged.versionID) == [1])
        try await backend.close()
    }
}

extension ClusterBackend.ErasureSet {
    /// The set's drives on this node (all of them, for a single node).
    var localDrives: [ClusterDrive?] { drives.map { $0 as? ClusterDrive } }
}
