import Foundation
import Logging
import NIOCore
import StowageCore
import Testing
@testable import StowageCluster

/// The scanner of replaced data on a real 6-drive backend: what overwrites and deletes leave
/// behind is noted by each drive in the replacing accept and removed by the collector under
/// the reference rule, never while anything may still use it.
@Suite(.timeLimit(.minutes(2)))
struct ReplacedDataCollectionTests {
    let address = ObjectAddress(bucket: "scan", key: "some/key")

    private func backend(_ drives: TempDrives, grace: Duration = .zero) async throws -> ClusterBackend {
        let backend = ClusterBackend(
            options: .init(drives: drives.paths, chunkSize: 64 << 10, inlineLimit: 4 << 10, collectionGrace: grace),
            logger: Logger(label: "test"))
        try await backend.open()
        _ = try await backend.createBucket("scan", owner: .anonymous, region: "us-east-1")
        return backend
    }

    private func bytes(_ count: Int, _ seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7) ^ seed } }

    private func put(_ backend: ClusterBackend, _ data: [UInt8], _ key: ObjectAddress? = nil) async throws -> ObjectManifest {
        let target = key ?? address
        _ = try await backend.putObject(target, body: S3Body(ByteBuffer(bytes: data)), options: PutObjectOptions())
        return try #require(try await backend.currentManifest(try await backend.locate(target, state: backend.openState())))
    }

    private func read(_ backend: ClusterBackend) async throws -> [UInt8] {
        let result = try await backend.getObject(address, options: GetObjectOptions())
        switch result.content {
        case .bytes(let buffer): return Array(buffer.readableBytesView)
        case .stream(let body, _): return Array(try await body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge)).readableBytesView)
        default: return []
        }
    }

    /// Shard files of the version's parts on every drive.
    private func files(_ backend: ClusterBackend, _ manifest: ObjectManifest) throws -> [String] {
        try backend.openState().drives.flatMap { drive in
            manifest.parts.flatMap { part in (0..<6).map { drive.layout.shardPath(dataRef: Array(manifest.versionID), part: part.number, slot: $0) } }
        }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// Catalogs still holding the version's data row (read through `holds`: not condemned).
    private func holders(_ backend: ClusterBackend, _ manifest: ObjectManifest) throws -> Int {
        try backend.openState().drives.filter { try $0.catalog?.holds(dataRef: Array(manifest.versionID)) == true }.count
    }

    private func notes(_ backend: ClusterBackend) async throws -> Int {
        var total = 0
        for drive in try backend.openState().drives { total += try await drive.catalog?.orphanCount() ?? 0 }
        return total
    }

    @Test func anOverwrittenThenDeletedObjectLeavesNothing() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let first = try await put(backend, bytes(300_000, 1))
        #expect(try files(backend, first).count == 6)
        let second = try await put(backend, bytes(200_000, 2))
        // Every drive that took the overwrite noted the first version's data.
        #expect(try await notes(backend) == 6)

        await backend.collectOrphans()
        #expect(try files(backend, first).isEmpty)
        #expect(try holders(backend, first) == 0)
        // One run removed the data and every drive's note.
        #expect(try await notes(backend) == 0)
        #expect(try files(backend, second).count == 6)
        #expect(try await read(backend) == bytes(200_000, 2))

        try await backend.deleteObject(address, conditions: WriteConditions())
        await backend.collectOrphans()
        #expect(try files(backend, second).isEmpty)
        #expect(try holders(backend, second) == 0)
        #expect(try await notes(backend) == 0)
        let metrics = await backend.metrics()
        #expect(metrics.first { $0.name == "stowage_cluster_collected_data_total" }?.value == 2)
        #expect(metrics.first { $0.name == "stowage_cluster_replaced_data_pending" }?.value == 0)
        try await backend.close()
    }

    @Test func inlineShardsOfAnOverwrittenObjectGo() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let first = try await put(backend, bytes(1_000, 3))
        #expect(first.parts.allSatisfy { $0.inline })
        _ = try await put(backend, bytes(1_500, 4))
        await backend.collectOrphans()
        for drive in try backend.openState().drives {
            #expect(try drive.catalog?.inlineShard(dataRef: Array(first.versionID), part: 1, slot: 0) == nil)
        }
        #expect(try holders(backend, first) == 0)
        #expect(try await read(backend) == bytes(1_500, 4))
        try await backend.close()
    }

    /// Nothing goes before its grace, and a GET that resolved a version reads it whole
    /// even when the version is overwritten and collected under it.
    @Test func graceAndAReadInFlight() async throws {
        let drives = TempDrives(count: 6)
        let graced = try await backend(drives, grace: .seconds(3600))
        let first = try await put(graced, bytes(1 << 20, 5))
        _ = try await put(graced, bytes(100_000, 6))
        await graced.collectOrphans()
        #expect(try files(graced, first).count == 6)
        try await graced.close()

        let backend = try await backend(TempDrives(count: 6))
        let old = try await put(backend, bytes(1 << 20, 7))
        let result = try await backend.getObject(address, options: GetObjectOptions())
        _ = try await put(backend, bytes(100_000, 8))
        await backend.collectOrphans()
        #expect(try files(backend, old).isEmpty)
        guard case .stream(let body, _) = result.content else { Issue.record("expected a stream"); return }
        let got = try await body.collect(upTo: 4 << 20, orThrow: S3Error(.entityTooLarge))
        #expect(Array(got.readableBytesView) == bytes(1 << 20, 7))
        try await backend.close()
    }

    /// A drive away when the collector runs: its data stays (the rule needs every drive);
    /// once it is back, the deferred note is collected everywhere.
    @Test func aDriveAwayDefersTheCollection() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let first = try await put(backend, bytes(300_000, 9))
        _ = try await put(backend, bytes(300_000, 10))
        let away = drives.paths[5]
        let format = DriveFormatFile.path(drive: away)
        try FileManager.default.moveItem(atPath: format, toPath: format + ".away")
        let state = try backend.openState()
        for drive in state.drives { drive.probe() }
        #expect(state.drives.filter { $0.online }.count == 5)

        await backend.collectOrphans()
        #expect(try files(backend, first).count == 6)
        #expect(try await backend.metrics().first { $0.name == "stowage_cluster_collections_deferred_total" }?.value == 1)

        try FileManager.default.moveItem(atPath: format + ".away", toPath: format)
        for drive in state.drives { drive.probe() }
        #expect(state.drives.filter { $0.online }.count == 6)
        // Deferred: the next scans skip it until its retry time.
        await backend.collectOrphans()
        #expect(try files(backend, first).count == 6)
        for drive in state.drives {
            guard let catalog = drive.catalog else { continue }
            for note in try await catalog.orphans(notedBy: .max, now: .max, limit: 10) {
                await backend.collect(note, in: state.sets[0], from: catalog)
            }
        }
        #expect(try files(backend, first).isEmpty)
        #expect(try await notes(backend) == 0)
        #expect(try await read(backend) == bytes(300_000, 10))
        try await backend.close()
    }

    /// A note on data the chosen value references (a write-back made it current again) is
    /// dropped, and the data stays.
    @Test func aNoteOnLiveDataIsDropped() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let current = try await put(backend, bytes(300_000, 11))
        let state = try backend.openState()
        let catalog = try #require(state.drives[0].catalog)
        let located = try await backend.locate(address, state: state)
        let note = DriveCatalog.Orphan(dataRef: Array(current.versionID), key: located.key, payload: try current.encoded(), sinceMs: 0)
        await backend.collect(note, in: located.set, from: catalog)
        #expect(try files(backend, current).count == 6)
        #expect(try await read(backend) == bytes(300_000, 11))
        try await backend.close()
    }

    /// DeleteBucket closes the bucket's keys for good, so nothing can settle them: the data
    /// of its deleted objects goes unsettled once every drive answers.
    @Test func aDeletedBucketsDataGoes() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives, grace: .seconds(3600))
        let gone = try await put(backend, bytes(300_000, 12))
        try await backend.deleteObject(address, conditions: WriteConditions())
        try await backend.deleteBucket("scan")
        #expect(try files(backend, gone).count == 6)
        let state = try backend.openState()
        let catalog = try #require(state.drives[0].catalog)
        let notes = try await catalog.orphans(notedBy: .max, now: .max, limit: 10)
        #expect(notes.count == 1)
        for note in notes { await backend.collect(note, in: state.sets[0], from: catalog) }
        #expect(try files(backend, gone).isEmpty)
        #expect(try await self.notes(backend) == 0)
        try await backend.close()
    }

    /// A DeleteBucket in progress (its fences expire) is not a deleted bucket: nothing can
    /// settle the key while it holds, so the data stays; once the fences are lifted the
    /// key settles and the data goes.
    @Test func aBucketFencedForAWhileKeepsItsData() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives, grace: .seconds(3600))
        let old = try await put(backend, bytes(300_000, 15))
        _ = try await put(backend, bytes(300_000, 16))
        let state = try backend.openState()
        let located = try await backend.locate(address, state: state)
        let token: [UInt8] = Array("in-progress".utf8)
        for drive in state.drives {
            try await drive.catalog!.fence(bucketID: located.key.scope, token: token, untilMs: WallClock.nowMs() + 60_000)
        }
        let catalog = try #require(state.drives[0].catalog)
        let notes = try await catalog.orphans(notedBy: .max, now: .max, limit: 10)
        #expect(notes.count == 1)
        for note in notes { await backend.collect(note, in: state.sets[0], from: catalog) }
        #expect(try files(backend, old).count == 6)
        #expect(try await self.notes(backend) == 6)

        for drive in state.drives {
            try await drive.catalog!.fence(bucketID: located.key.scope, token: token, untilMs: nil, open: true)
        }
        for note in notes { await backend.collect(note, in: state.sets[0], from: catalog) }
        #expect(try files(backend, old).isEmpty)
        #expect(try await self.notes(backend) == 0)
        #expect(try await read(backend) == bytes(300_000, 16))
        try await backend.close()
    }

    /// A writer that died between staging and accepting: its data is found by age through the
    /// owner its rows name, and collected with no value to read (the rows name their files).
    @Test func dataNoAcceptAdoptedIsFoundByAge() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        _ = try await put(backend, bytes(300_000, 13))
        let state = try backend.openState()
        let located = try await backend.locate(address, state: state)
        let versionID = WriteID.random().bytes
        let staged = try await backend.stage(
            body: S3Body(ByteBuffer(bytes: bytes(200_000, 14))), options: PutObjectOptions(), versionID: versionID, located: located, state: state)
        let paths = {
            state.drives.flatMap { drive in (0..<6).map { drive.layout.shardPath(dataRef: versionID, part: staged.part.number, slot: $0) } }
                .filter { FileManager.default.fileExists(atPath: $0) }
        }
        #expect(paths().count == 6)

        // Too young to be noted; then old enough on every drive.
        for drive in state.drives { #expect(try await drive.catalog!.noteUnadopted(stagedBy: WallClock.nowMs() - 60_000) == 0) }
        for drive in state.drives { #expect(try await drive.catalog!.noteUnadopted(stagedBy: .max) == 1) }
        await backend.collectOrphans()
        #expect(paths().isEmpty)
        #expect(try await notes(backend) == 0)
        for drive in state.drives { #expect(try drive.catalog!.holds(dataRef: versionID) == false) }
        #expect(try await read(backend) == bytes(300_000, 13))
        try await backend.close()
    }

    @Test func theTokenBucketHoldsItsRate() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 2, now: .zero)
        #expect(bucket.take(at: .zero) == .zero)
        #expect(bucket.take(at: .zero) == .zero)
        // Empty: the third waits a tenth of a second, the fourth two tenths.
        #expect(bucket.take(at: .zero) == .milliseconds(100))
        #expect(bucket.take(at: .zero) == .milliseconds(200))
        // Refills at the rate, never above the burst.
        #expect(bucket.take(at: .seconds(10)) == .zero)
        #expect(bucket.tokens == 1)
        var unpaced = TokenBucket(ratePerSecond: 0, burst: 1, now: .zero)
        for _ in 0..<100 { #expect(unpaced.take(at: .zero) == .zero) }
    }
}
