import Foundation
import Logging
import NIOCore
import StowageCore
import Testing
@testable import StowageCluster

/// Multipart on the cluster beyond the conformance suite: Complete links the parts' shard
/// files instead of rewriting them, and what a re-upload, a Complete or an Abort leaves
/// behind goes to the collector without touching a completed object's data.
@Suite(.timeLimit(.minutes(2)))
struct ClusterMultipartTests {
    static let mib = 1 << 20
    let address = ObjectAddress(bucket: "mpu", key: "big/object")

    private func backend(_ drives: TempDrives) async throws -> ClusterBackend {
        let backend = ClusterBackend(
            options: .init(drives: drives.paths, chunkSize: 256 << 10, inlineLimit: 4 << 10, collectionGrace: .zero),
            logger: Logger(label: "test"))
        try await backend.open()
        _ = try await backend.createBucket("mpu", owner: .anonymous, region: "us-east-1")
        return backend
    }

    private func bytes(_ count: Int, _ seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7) ^ seed } }

    private func part(_ backend: ClusterBackend, _ upload: String, _ number: Int, _ data: [UInt8]) async throws -> PartInfo {
        try await backend.uploadPart(address, uploadID: upload, partNumber: number, body: S3Body(ByteBuffer(bytes: data)), options: PartOptions())
    }

    private func read(_ backend: ClusterBackend, _ options: GetObjectOptions = GetObjectOptions()) async throws -> [UInt8] {
        let result = try await backend.getObject(address, options: options)
        switch result.content {
        case .bytes(let buffer): return Array(buffer.readableBytesView)
        case .stream(let body, _): return Array(try await body.collect(upTo: 64 << 20, orThrow: S3Error(.entityTooLarge)).readableBytesView)
        default: return []
        }
    }

    private func place(_ backend: ClusterBackend, _ upload: String) async throws -> ClusterBackend.UploadPlace {
        try await backend.place(address, uploadID: upload, state: try backend.openState())
    }

    /// Shard files of `dataRef` part `part` across the drives, by path.
    private func shardFiles(_ backend: ClusterBackend, _ dataRef: [UInt8], part: Int) throws -> [String] {
        try backend.openState().drives.flatMap { drive in
            (0..<6).map { drive.layout.shardPath(dataRef: dataRef, part: part, slot: $0) }
        }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    private func inode(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Waits (bounded) until the upload's part registers are all tombstoned, then collects.
    private func retiredAndCollected(_ backend: ClusterBackend, _ upload: String) async throws {
        let place = try await place(backend, upload)
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !backend.storedParts(place, state: backend.openState()).isEmpty {
            guard ContinuousClock.now < deadline else { Issue.record("the parts were never retired"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
        await backend.collectDueData()
    }

    @Test func completeLinksThePartsAndTheAttemptsGoAfterwards() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let pieces = [bytes(5 * Self.mib, 1), bytes(5 * Self.mib, 2), bytes(300_000, 3)]
        let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions())
        var parts: [CompletedPart] = []
        for (index, piece) in pieces.enumerated() {
            let info = try await part(backend, upload.uploadID, index + 1, piece)
            parts.append(CompletedPart(partNumber: index + 1, etag: info.etag))
        }
        let attempts = try await backend.storedParts(place(backend, upload.uploadID), state: backend.openState()).map { Array($0.attempt) }
        #expect(attempts.count == 3)
        let info = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
        #expect(info.etag.hasSuffix("-3"))
        #expect(info.size == Int64(pieces.map(\.count).reduce(0, +)))

        // Every shard file of the object is a second name of its part attempt's file.
        let manifest = try #require(try await backend.currentManifest(try await backend.locate(address, state: backend.openState())))
        #expect(manifest.uploadID == upload.uploadID)
        for (index, attempt) in attempts.enumerated() {
            let objectFiles = try shardFiles(backend, Array(manifest.versionID), part: index + 1)
            let attemptFiles = try shardFiles(backend, attempt, part: 1)
            #expect(objectFiles.count == 6)
            #expect(Set(objectFiles.compactMap(inode)) == Set(attemptFiles.compactMap(inode)))
        }

        let whole = pieces.flatMap { $0 }
        #expect(try await read(backend) == whole)
        // A range across the first two parts, and a part by number.
        let crossing = try await read(backend, GetObjectOptions(range: .fromTo(Int64(5 * Self.mib - 10), Int64(5 * Self.mib + 9))))
        #expect(crossing == Array(whole[(5 * Self.mib - 10)..<(5 * Self.mib + 10)]))
        let second = try await backend.getObject(address, options: GetObjectOptions(partNumber: 2))
        #expect(second.range == ByteRange(first: Int64(5 * Self.mib), last: Int64(10 * Self.mib - 1)))
        #expect(second.info.partCount == 3)

        // The attempts' names go; the object's stay and read the same.
        try await retiredAndCollected(backend, upload.uploadID)
        for attempt in attempts { #expect(try shardFiles(backend, attempt, part: 1).isEmpty) }
        #expect(try await read(backend) == whole)
        let uploads = try await backend.listMultipartUploads(bucket: "mpu", query: ListUploadsQuery())
        #expect(uploads.uploads.isEmpty)
        try await backend.close()
    }

    @Test func aReuploadedPartLeavesItsOldAttemptToTheCollector() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions())
        _ = try await part(backend, upload.uploadID, 1, bytes(200_000, 4))
        let first = try await backend.storedParts(place(backend, upload.uploadID), state: backend.openState())[0].attempt
        let again = try await part(backend, upload.uploadID, 1, bytes(200_000, 5))
        await backend.collectDueData()
        #expect(try shardFiles(backend, Array(first), part: 1).isEmpty)
        let listed = try await backend.listParts(address, uploadID: upload.uploadID, query: ListPartsQuery())
        #expect(listed.parts.map(\.etag) == [again.etag])
        _ = try await backend.completeMultipartUpload(
            address, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: again.etag)], options: CompleteMultipartOptions())
        #expect(try await read(backend) == bytes(200_000, 5))
        try await backend.close()
    }

    @Test func abortLeavesNothingBehind() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions())
        _ = try await part(backend, upload.uploadID, 1, bytes(5 * Self.mib, 6))
        _ = try await part(backend, upload.uploadID, 2, bytes(1_000, 7))
        let attempts = try await backend.storedParts(place(backend, upload.uploadID), state: backend.openState()).map { Array($0.attempt) }
        try await backend.abortMultipartUpload(address, uploadID: upload.uploadID)
        try await retiredAndCollected(backend, upload.uploadID)
        for attempt in attempts { #expect(try shardFiles(backend, attempt, part: 1).isEmpty) }
        await #expect(throws: S3Error.self) {
            _ = try await backend.listParts(self.address, uploadID: upload.uploadID, query: ListPartsQuery())
        }
        await #expect(throws: S3Error.self) {
            try await backend.abortMultipartUpload(self.address, uploadID: upload.uploadID)
        }
        #expect(try await backend.listMultipartUploads(bucket: "mpu", query: ListUploadsQuery()).uploads.isEmpty)
        try await backend.close()
    }

    /// A completed object is as durable as its parts were written: with two of six drives
    /// gone, a part written while all six were there (4+2) sits on only four, with no parity
    /// left, so Complete answers 503 and nothing is visible. Once the drives return, a part
    /// written during the outage (3+3 on the four drives there) is on too few drives that hold
    /// every part (each accepting drive must hold the whole object's data): 503 again, until
    /// that part is uploaded again.
    @Test func completeNeedsEachPartAsDurableAsItWasWritten() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions())
        let first = try await part(backend, upload.uploadID, 1, bytes(5 * Self.mib, 8))
        for path in drives.paths.prefix(2) { try FileManager.default.moveItem(atPath: path, toPath: path + "-away") }
        await backend.probeDrives()
        let second = try await part(backend, upload.uploadID, 2, bytes(777_777, 9))
        let parts = [CompletedPart(partNumber: 1, etag: first.etag), CompletedPart(partNumber: 2, etag: second.etag)]
        do {
            _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
            Issue.record("a Complete that would leave part 1 without parity was acknowledged")
        } catch let error as S3Error {
            #expect(error.code == .serviceUnavailable)
        }
        await #expect(throws: S3Error.self) { _ = try await backend.headObject(self.address, options: GetObjectOptions()) }
        for path in drives.paths.prefix(2) { try FileManager.default.moveItem(atPath: path + "-away", toPath: path) }
        await backend.probeDrives()
        do {
            _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: parts, options: CompleteMultipartOptions())
            Issue.record("a Complete whose part 2 is on only four drives holding every part was acknowledged")
        } catch let error as S3Error {
            #expect(error.code == .serviceUnavailable)
        }
        let again = try await part(backend, upload.uploadID, 2, bytes(777_777, 9))
        _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [
            CompletedPart(partNumber: 1, etag: first.etag), CompletedPart(partNumber: 2, etag: again.etag),
        ], options: CompleteMultipartOptions())
        let whole = bytes(5 * Self.mib, 8) + bytes(777_777, 9)
        #expect(try await read(backend) == whole)
        // The version's files are its own: the attempts' collection leaves them.
        try await retiredAndCollected(backend, upload.uploadID)
        for path in drives.paths.prefix(2) { try FileManager.default.moveItem(atPath: path, toPath: path + "-away") }
        await backend.probeDrives()
        #expect(try await read(backend) == whole)
        try await backend.close()
    }

    /// A Complete that marked the upload and stopped (or stalled) before writing the object:
    /// an Abort settles the object key above the Complete's ballot and aborts; the Complete's
    /// write, arriving late at its ballot, can no longer take effect.
    @Test func anAbortSettlesACompleteThatStoppedMidway() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions())
        _ = try await part(backend, upload.uploadID, 1, bytes(300_000, 10))
        let place = try await place(backend, upload.uploadID)
        let (record, write) = try await backend.readUpload(place, uploadID: upload.uploadID)
        let stored = try await backend.storedParts(place, state: backend.openState())
        var marked = record
        let versionID = WriteID.random().bytes
        let coordinator = place.object.set.coordinator
        let ballot = try await coordinator.clock.issue(above: nil)
        marked.completing = UploadRecord.Completing(versionID: Data(versionID), parts: stored.map(\.layout), ballot: Data(ballot.bytes))
        #expect(try await backend.replaceUpload(place, write: write, with: marked).done)
        try await backend.abortMultipartUpload(address, uploadID: upload.uploadID)
        await #expect(throws: S3Error.self) { _ = try await backend.headObject(self.address, options: GetObjectOptions()) }
        // The stopped Complete's write, arriving now at its ballot, can no longer take effect.
        let late = await coordinator.write(
            RegisterValue(writeID: .random(), payload: [1]), key: place.object.key, firstBallot: ballot, attempts: 1)
        if case .written = late { Issue.record("the fenced Complete's write was chosen after the Abort") }
        await #expect(throws: S3Error.self) { _ = try await backend.headObject(self.address, options: GetObjectOptions()) }
        do {
            _ = try await backend.completeMultipartUpload(
                address, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: stored[0].etag)], options: CompleteMultipartOptions())
            Issue.record("an aborted upload completed")
        } catch let error as S3Error {
            #expect(error.code == .noSuchUpload)
        }
        try await backend.close()
    }

    /// Complete and Abort racing: never both succeed; the object exists exactly when the
    /// Complete succeeded.
    @Test func completeAndAbortRacingNeverBothSucceed() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        for round in 0..<12 {
            let key = ObjectAddress(bucket: "mpu", key: "race/\(round)")
            let upload = try await backend.createMultipartUpload(key, options: MultipartUploadOptions())
            let info = try await backend.uploadPart(key, uploadID: upload.uploadID, partNumber: 1, body: S3Body(ByteBuffer(bytes: bytes(50_000, UInt8(round)))), options: PartOptions())
            async let completed: Bool = {
                do {
                    _ = try await backend.completeMultipartUpload(
                        key, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: info.etag)], options: CompleteMultipartOptions())
                    return true
                } catch { return false }
            }()
            async let aborted: Bool = {
                do {
                    try await backend.abortMultipartUpload(key, uploadID: upload.uploadID)
                    return true
                } catch { return false }
            }()
            let (didComplete, didAbort) = await (completed, aborted)
            #expect(!(didComplete && didAbort), "round \(round): both the Complete and the Abort succeeded")
            let exists = (try? await backend.headObject(key, options: GetObjectOptions())) != nil
            #expect(exists == didComplete, "round \(round): the object exists: \(exists), the Complete succeeded: \(didComplete)")
        }
        try await backend.close()
    }
}

/// Empty drive directories under one temporary root, removed with it.
final class TempDrives: Sendable {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-drives-\(UUID().uuidString)").path
    let count: Int
    var paths: [String] { (1...count).map { "\(root)/d\($0)" } }

    init(count: Int) {
        self.count = count
        for path in paths { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}
