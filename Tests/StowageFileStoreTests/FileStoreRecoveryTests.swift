import Foundation
import GRDB
import NIOCore
import StowageBackendConformance
import StowageCore
@testable import StowageFileStore
import Testing

/// Crash consistency: each test builds the on-disk state a crash at a given instant leaves,
/// then opens the store and checks it sees exactly the old or the new object, with no garbage.
@Suite("FileStore crash recovery and on-disk layout", .timeLimit(.minutes(1)))
struct FileStoreRecoveryTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func store(cleanSlate: Bool = false) -> FileStoreBackend {
        FileStoreBackend(options: .init(directory: directory.path, cleanSlate: cleanSlate))
    }

    func database() throws -> DatabaseQueue {
        try DatabaseQueue(path: directory.path + "/.stowage/index.sqlite")
    }

    func writeTemp(_ name: String, _ bytes: [UInt8]) throws -> UInt64 {
        let path = directory.path + "/.stowage/tmp/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.systemFileNumber] as! NSNumber).uint64Value
    }

    @Test("health: unavailable until open and after close, ok with the free space while open")
    func health() async throws {
        defer { directory.remove() }
        let backend = store()
        #expect(await backend.health().status == .unavailable)
        try await backend.open()
        let open = await backend.health()
        #expect(open.components.map(\.name) == ["index", "disk"])
        #expect(open.components[0].status == .ok)
        #expect(open.components[1].detail?.contains("MiB free of") == true)
        try await backend.close()
        #expect(await backend.health().components.first?.detail == "storage is not open")
    }

    @Test("objects are plain files at their mapped paths and survive a restart")
    func layoutAndPersistence() async throws {
        defer { directory.remove() }
        let first = store()
        try await first.open()
        _ = try await first.createBucket("docs", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(first, "docs", "guides/intro.txt", Array("hello".utf8), metadata: ObjectMetadata(contentType: "text/plain"))
        try await first.close()

        #expect(FileManager.default.contents(atPath: directory.path + "/docs/guides%/intro.txt") == Data("hello".utf8))

        let second = store()
        try await second.open()
        #expect(try await Conformance.get(second, "docs", "guides/intro.txt") == Array("hello".utf8))
        let head = try await second.headObject(ObjectAddress(bucket: "docs", key: "guides/intro.txt"), options: GetObjectOptions())
        #expect(head.info.metadata.contentType == "text/plain")
        #expect(try await second.listBuckets().map(\.name) == ["docs"])
        try await second.close()
    }

    @Test("a crash before commit leaves only a temp file, removed at start-up")
    func crashBeforeCommit() async throws {
        defer { directory.remove() }
        let first = store()
        try await first.open()
        _ = try await first.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(first, "bkt", "k", [1, 1, 1])
        try await first.close()
        _ = try writeTemp("upload-interrupted", [2, 2, 2, 2])

        let second = store()
        try await second.open()
        #expect(try await Conformance.get(second, "bkt", "k") == [1, 1, 1])
        #expect(directory.files(under: ".stowage/tmp").isEmpty)
        try await second.close()
    }

    @Test("a crash between commit and rename is rolled forward at start-up")
    func crashBetweenCommitAndRename() async throws {
        defer { directory.remove() }
        let first = store()
        try await first.open()
        _ = try await first.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(first, "bkt", "dir/k", [1, 1, 1])
        try await first.close()

        // The committed row of a new write whose file never left the temp directory.
        let newBytes: [UInt8] = [9, 9, 9, 9, 9]
        let inode = try writeTemp("upload-committed", newBytes)
        try await database().write { db in
            try db.execute(sql: "UPDATE objects SET size = ?, etag = ?, inode = ? WHERE key = ?",
                           arguments: [newBytes.count, Hex.encode(MD5.hash(newBytes)), Int64(bitPattern: inode), Data("dir/k".utf8)])
            try db.execute(sql: "INSERT INTO pending (temp, bucket_id, key, inode) SELECT 'upload-committed', bucket_id, key, inode FROM objects WHERE key = ?",
                           arguments: [Data("dir/k".utf8)])
        }

        let second = store()
        try await second.open()
        #expect(try await Conformance.get(second, "bkt", "dir/k") == newBytes)
        #expect(FileManager.default.contents(atPath: directory.path + "/bkt/dir%/k") == Data(newBytes))
        #expect(directory.files(under: ".stowage/tmp").isEmpty)
        let pending = try await database().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending") }
        #expect(pending == 0)
        try await second.close()
    }

    @Test("readers are served from the pending temp file while the rename is outstanding")
    func readDuringPendingRename() async throws {
        defer { directory.remove() }
        let live = store()
        try await live.open()
        _ = try await live.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(live, "bkt", "k", [1])
        let newBytes: [UInt8] = [5, 6, 7]
        let inode = try writeTemp("upload-pending", newBytes)
        try await database().write { db in
            try db.execute(sql: "UPDATE objects SET size = ?, etag = ?, inode = ? WHERE key = ?",
                           arguments: [newBytes.count, Hex.encode(MD5.hash(newBytes)), Int64(bitPattern: inode), Data("k".utf8)])
            try db.execute(sql: "INSERT INTO pending (temp, bucket_id, key, inode) SELECT 'upload-pending', bucket_id, key, inode FROM objects WHERE key = ?",
                           arguments: [Data("k".utf8)])
        }
        #expect(try await Conformance.get(live, "bkt", "k") == newBytes)
        try await live.close()
    }

    @Test("a crash between a delete's commit and its unlink is finished at start-up")
    func crashBetweenDeleteCommitAndUnlink() async throws {
        defer { directory.remove() }
        let first = store()
        try await first.open()
        _ = try await first.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(first, "bkt", "x/gone", [1])
        _ = try await Conformance.put(first, "bkt", "x/kept", [2])
        try await first.close()

        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/bkt/x%/gone")
        let inode = (attributes[.systemFileNumber] as! NSNumber).int64Value
        try await database().write { db in
            let bucketID = try Int64.fetchOne(db, sql: "SELECT id FROM buckets WHERE name = 'bkt'")!
            try db.execute(sql: "DELETE FROM objects WHERE key = ?", arguments: [Data("x/gone".utf8)])
            try db.execute(sql: "INSERT INTO trash (bucket_id, path, key, inode) VALUES (?, ?, ?, ?)",
                           arguments: [bucketID, "x%/gone", Data("x/gone".utf8), inode])
        }

        let second = store()
        try await second.open()
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/bkt/x%/gone"))
        #expect(FileManager.default.contents(atPath: directory.path + "/bkt/x%/kept") == Data([2]))
        let listed = try await second.listObjects(bucket: "bkt", query: ListObjectsQuery())
        #expect(listed.objects.map(\.key) == ["x/kept"])
        try await second.close()
    }

    @Test("a stale trash entry never removes a newer object's file")
    func staleTrashKeepsNewObject() async throws {
        defer { directory.remove() }
        let first = store()
        try await first.open()
        _ = try await first.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(first, "bkt", "k", [3])
        try await first.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/bkt/k")
        let inode = (attributes[.systemFileNumber] as! NSNumber).int64Value
        try await database().write { db in
            let bucketID = try Int64.fetchOne(db, sql: "SELECT id FROM buckets WHERE name = 'bkt'")!
            // The live row and the trash entry name the same file: the row wins.
            try db.execute(sql: "INSERT INTO trash (bucket_id, path, key, inode) VALUES (?, 'k', ?, ?)", arguments: [bucketID, Data("k".utf8), inode])
        }
        let second = store()
        try await second.open()
        #expect(try await Conformance.get(second, "bkt", "k") == [3])
        try await second.close()
    }

    @Test("clean slate wipes a Stowage directory")
    func cleanSlateWipes() async throws {
        defer { directory.remove() }
        let first = store()
        try await first.open()
        _ = try await first.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        _ = try await Conformance.put(first, "bkt", "k", [1])
        try await first.close()

        let second = store(cleanSlate: true)
        try await second.open()
        #expect(try await second.listBuckets().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/bkt"))
        try await second.close()
    }

    @Test("clean slate refuses to wipe a directory Stowage did not create")
    func cleanSlateRefusesForeignDirectory() async throws {
        defer { directory.remove() }
        _ = FileManager.default.createFile(atPath: directory.path + "/precious.txt", contents: Data("keep me".utf8))
        let store = store(cleanSlate: true)
        await #expect(throws: ConfigurationError.self) { try await store.open() }
        #expect(FileManager.default.contents(atPath: directory.path + "/precious.txt") == Data("keep me".utf8))
    }

    @Test("a failed upload leaves no temp file and no directory debris")
    func failedUploadLeavesNothing() async throws {
        defer { directory.remove() }
        let store = store()
        try await store.open()
        _ = try await store.createBucket("bkt", owner: Conformance.owner, region: "us-east-1")
        let bytes = [UInt8](repeating: 4, count: 200_000)
        await #expect(throws: (any Error).self) {
            try await store.putObject(ObjectAddress(bucket: "bkt", key: "deep/er/k"), body: Conformance.failingBody(bytes, failAfter: 100_000),
                                      options: PutObjectOptions(owner: Conformance.owner, expectedSize: Int64(bytes.count)))
        }
        #expect(directory.files(under: ".stowage/tmp").isEmpty)
        #expect(directory.files(under: "bkt").isEmpty)
        try await store.close()
    }

    @Test("listing a 20,000-key bucket pages in byte order")
    func largeListing() async throws {
        defer { directory.remove() }
        let store = store()
        try await store.open()
        _ = try await store.createBucket("big", owner: Conformance.owner, region: "us-east-1")
        let keys = (0..<20_000).map { "p\($0 % 10)/\($0)" }
        for key in keys { _ = try await Conformance.put(store, "big", key, []) }
        let listed = try await Conformance.listAll(store, "big", pageSize: 1000)
        #expect(listed.keys == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(listed.pages == 20)
        try await store.close()
    }
}
