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

    /// Parity within reach: parts uploaded and completed with two of six drives gone read back
    /// whole, also once those drives return.
    @Test func twoDrivesGoneStillUploadAndComplete() async throws {
        let drives = TempDrives(count: 6)
        let backend = try await backend(drives)
        let upload = try await backend.createMultipartUpload(address, options: MultipartUploadOptions())
        let first = try await part(backend, upload.uploadID, 1, bytes(5 * Self.mib, 8))
        for path in drives.paths.prefix(2) { try FileManager.default.moveItem(atPath: path, toPath: path + "-away") }
        await backend.probeDrives()
        let second = try await part(backend, upload.uploadID, 2, bytes(777_777, 9))
        _ = try await backend.completeMultipartUpload(address, uploadID: upload.uploadID, parts: [
            CompletedPart(partNumber: 1, etag: first.etag), CompletedPart(partNumber: 2, etag: second.etag),
        ], options: CompleteMultipartOptions())
        let whole = bytes(5 * Self.mib, 8) + bytes(777_777, 9)
        #expect(try await read(backend) == whole)
        for path in drives.paths.prefix(2) { try FileManager.default.moveItem(atPath: path + "-away", toPath: path) }
        await backend.probeDrives()
        #expect(try await read(backend) == whole)
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
