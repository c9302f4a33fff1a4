import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import StowageCore
import StowageInProcessTransport
import Synchronization
import Testing
@testable import StowageCluster

/// A cluster that grew by a pool (CLUSTER.md §1, §9): pool 0 on node p0, pool 1 on node p1,
/// formed from one cluster map, over the in-process transport. Buckets are bound to a pool
/// when created; their objects' shards and registers sit on that pool's drives only; every
/// node serves every bucket; a node that has not heard of a pool yet catches up and serves.
@Suite struct TwoPoolBackendTests {
    /// The map as a node's runtime hands it over: its pools, its ballot index, and a newer
    /// map that `catchUp` finds (what the QUIC runtime fetches from the other members).
    final class MapLifecycle: ClusterNodeLifecycle {
        let layouts: Mutex<[PoolLayout]>
        let newer = Mutex<[PoolLayout]?>(nil)
        let index: Int
        private let observer = Mutex<(@Sendable ([PoolLayout]) async -> Void)?>(nil)

        init(_ layouts: [PoolLayout], index: Int) {
            self.layouts = Mutex(layouts)
            self.index = index
        }

        func prepare() async throws {}
        func finish() async {}
        var services: [any Service] { [] }
        func membership() -> ClusterStatus.Membership? { nil }
        func observeLiveness(_ changed: @escaping @Sendable () async -> Void) {}
        func pools() -> [PoolLayout]? { layouts.withLock { $0 } }
        var ballotIndex: Int? { index }
        func observePools(_ changed: @escaping @Sendable ([PoolLayout]) async -> Void) { observer.withLock { $0 = changed } }
        func catchUp(toPools count: Int) async {
            guard let found = newer.withLock({ $0 }) else { return }
            layouts.withLock { $0 = found }
            await observer.withLock({ $0 })?(found)
        }
    }

    static func layouts(_ map: ClusterMap) -> [PoolLayout] {
        map.pools.map { PoolLayout(deploymentID: $0.deploymentID, sets: $0.sets, owners: $0.drives.mapValues(\.node)) }
    }

    final class Cluster: Sendable {
        let root: String
        let network = InProcessNetwork(faults: .none)
        let first: ClusterBackend, second: ClusterBackend
        let firstLifecycle: MapLifecycle

        /// p0 forms pool 0 and serves; then p1 joins, pool 1 forms, and p1 starts knowing both.
        /// p0 learns of pool 1 only when it catches up.
        init() async throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-2pool-\(UUID().uuidString)").path
            self.root = root
            let drives = { (node: String) in (0..<3).map { "\(root)/\(node)/d\($0)" } }
            for node in ["p0", "p1"] {
                for drive in drives(node) { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
            }
            var map = ClusterMap.founding(
                clusterID: "c-pools", node: .init(id: "p0", address: "127.0.0.1:1", drives: drives("p0")),
                dataShards: 2, parityShards: 1, chunkSize: 64 << 10)
            try map.formPool()
            try ClusterFormation.formOwnDrives(map.formats(of: "p0"), durable: true)
            let network = self.network
            firstLifecycle = MapLifecycle(TwoPoolBackendTests.layouts(map), index: 0)
            first = ClusterBackend(
                options: .init(drives: drives("p0"), dataShards: 2, parityShards: 1, chunkSize: 64 << 10, fsync: true, inlineLimit: 4 << 10, nodeID: "p0"),
                logger: Logger(label: "test"), attach: { network.attach(NodeID("p0"), handler: $0) }, lifecycle: firstLifecycle)
            try await first.open()
            try map.admit(.init(id: "p1", address: "127.0.0.1:2", drives: drives("p1")))
            try map.formPool()
            try ClusterFormation.formOwnDrives(map.formats(of: "p1"), durable: true)
            firstLifecycle.newer.withLock { $0 = TwoPoolBackendTests.layouts(map) }
            second = ClusterBackend(
                options: .init(drives: drives("p1"), dataShards: 2, parityShards: 1, chunkSize: 64 << 10, fsync: true, inlineLimit: 4 << 10, nodeID: "p1"),
                logger: Logger(label: "test"), attach: { network.attach(NodeID("p1"), handler: $0) },
                lifecycle: MapLifecycle(TwoPoolBackendTests.layouts(map), index: 1))
            try await second.open()
        }

        func shutdown() async {
            try? await first.close()
            try? await second.close()
            try? FileManager.default.removeItem(atPath: root)
        }

        /// Shard files on a node's drives.
        func shardFiles(on node: String) -> Int {
            (0..<3).reduce(0) { count, drive in
                let files = FileManager.default.enumerator(atPath: "\(root)/\(node)/d\(drive)/.stowage/data")?.allObjects.compactMap { $0 as? String } ?? []
                return count + files.filter { $0.contains(".p1.s") }.count
            }
        }
    }

    private func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed) &* 7) } }

    private func put(_ backend: ClusterBackend, _ bucket: String, _ key: String, _ data: [UInt8]) async throws {
        _ = try await backend.putObject(
            ObjectAddress(bucket: bucket, key: key), body: S3Body(ByteBuffer(bytes: data)), options: PutObjectOptions(expectedSize: Int64(data.count)))
    }

    private func get(_ backend: ClusterBackend, _ bucket: String, _ key: String) async throws -> [UInt8] {
        try await backend.bytes(of: ObjectAddress(bucket: bucket, key: key))
    }

    private func keys(_ backend: ClusterBackend, _ bucket: String) async throws -> [String] {
        try await backend.listObjects(bucket: bucket, query: ListObjectsQuery(maxKeys: 1000)).objects.map(\.key)
    }

    @Test(.timeLimit(.minutes(2))) func bucketsLiveInTheirPoolAndEveryNodeServesEveryBucket() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        let owner = S3Identity.anonymous
        // Before pool 1: a bucket in pool 0, written through p0.
        _ = try await cluster.first.createBucket("old", owner: owner, region: "us-east-1")
        let old = bytes(200_000, seed: 1)
        try await put(cluster.first, "old", "a", old)
        let filesBefore = (cluster.shardFiles(on: "p0"), cluster.shardFiles(on: "p1"))
        #expect(filesBefore.0 == 3 && filesBefore.1 == 0)

        // p1 knows both pools: it reads pool 0's bucket from p0's drives.
        #expect(try await get(cluster.second, "old", "a") == old)
        // A bucket made in pool 1 (pinned: free space is the same filesystem here).
        cluster.second.pinnedPool.withLock { $0 = 1 }
        _ = try await cluster.second.createBucket("new", owner: owner, region: "us-east-1")
        let new = bytes(300_000, seed: 2)
        try await put(cluster.second, "new", "b", new)
        #expect(cluster.shardFiles(on: "p0") == 3 && cluster.shardFiles(on: "p1") == 3)

        // p0 has not heard of pool 1: its first request for the bucket catches up, then serves.
        #expect(try await get(cluster.first, "new", "b") == new)
        try await put(cluster.first, "new", "c", bytes(100_000, seed: 3))
        #expect(cluster.shardFiles(on: "p0") == 3 && cluster.shardFiles(on: "p1") == 6)
        #expect(try await keys(cluster.first, "new") == ["b", "c"])
        #expect(try await keys(cluster.second, "old") == ["a"])
        #expect(try await cluster.first.listBuckets().map(\.name) == ["new", "old"])
        let status = await cluster.first.clusterStatus()
        #expect(status.sets.map(\.pool) == [0, 1])

        // DeleteBucket fences and lists the bucket's own pool.
        await #expect(throws: S3Error.self) { try await cluster.first.deleteBucket("new") }
        try await cluster.first.deleteObject(ObjectAddress(bucket: "new", key: "b"))
        try await cluster.second.deleteObject(ObjectAddress(bucket: "new", key: "c"))
        try await cluster.second.deleteBucket("new")
        #expect(try await cluster.first.listBuckets().map(\.name) == ["old"])
        #expect(try await get(cluster.second, "old", "a") == old)
    }

    /// The first request of a node that has not heard of pool 1 may be a write: a PUT, or
    /// the part of an upload begun elsewhere; a configuration write keeps the bucket's pool.
    @Test(.timeLimit(.minutes(2)), arguments: ["put", "part"])
    func aNodeBehindOnPoolsServesWritesFirst(_ first: String) async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        cluster.second.pinnedPool.withLock { $0 = 1 }
        _ = try await cluster.second.createBucket("new", owner: .anonymous, region: "us-east-1")
        let address = ObjectAddress(bucket: "new", key: "w")
        let body = bytes(150_000, seed: 4)
        if first == "put" {
            try await put(cluster.first, "new", "w", body)
        } else {
            let upload = try await cluster.second.createMultipartUpload(address, options: MultipartUploadOptions())
            let part = try await cluster.first.uploadPart(
                address, uploadID: upload.uploadID, partNumber: 1, body: S3Body(ByteBuffer(bytes: body)), options: PartOptions())
            _ = try await cluster.first.completeMultipartUpload(
                address, uploadID: upload.uploadID, parts: [CompletedPart(partNumber: 1, etag: part.etag)], options: CompleteMultipartOptions())
        }
        #expect(try await get(cluster.second, "new", "w") == body)
        // A completed upload's shards are linked under the object's version beside the part's.
        #expect(cluster.shardFiles(on: "p0") == 0 && cluster.shardFiles(on: "p1") == (first == "put" ? 3 : 6))
        try await cluster.first.setBucketConfiguration("new", kind: .cors, document: Array("<CORSConfiguration/>".utf8))
        let record = try await cluster.second.bucketRecord("new", state: cluster.second.openState(), fresh: true)
        #expect(record.pool == 1 && record.configuration?["cors"] != nil)
    }

    /// New buckets go where the most free bytes are, a filesystem counted once per node; the
    /// other nodes' drives report theirs in probe answers.
    @Test func aNewBucketGoesToThePoolWithTheMostFreeSpace() async throws {
        let cluster = try await Cluster()
        defer { Task { await cluster.shutdown() } }
        await cluster.first.adopt(pools: try #require(cluster.firstLifecycle.newer.withLock { $0 }))
        await cluster.first.probeDrives()
        let state = try cluster.first.openState()
        #expect(state.pools.count == 2 && state.sets.count == 2)
        #expect(state.sets.map(\.pool) == [0, 1])
        let remote = state.sets[1].drives.compactMap { $0 as? RemoteDrive }
        #expect(remote.count == 3 && remote.allSatisfy { $0.space != nil }, "p1's drives reported their space")
        // One filesystem here, counted once per node: each pool's figure is that filesystem's
        // free bytes (as two moments measured them), not three drives' worth.
        let figures = cluster.first.freeBytes(ofPools: state)
        let filesystem = try #require(ClusterBackend.space(cluster.root)).free
        #expect(figures.allSatisfy { abs($0 - filesystem) < filesystem / 100 }, "\(figures) against \(filesystem)")
        #expect(cluster.first.poolForNewBucket(state) == ClusterBackend.mostFree(figures))
        #expect(ClusterBackend.mostFree([10, 30, 20]) == 1)
        #expect(ClusterBackend.mostFree([5, 5]) == 0)
    }

    /// Drives formatted for pool 1 need the cluster map that says what pool 0 is.
    @Test func aPoolAfterTheFirstNeedsTheMap() async throws {
        let cluster = try await Cluster()
        await cluster.shutdown()
        try FileManager.default.createDirectory(atPath: cluster.root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: cluster.root) }
        var map = ClusterMap.founding(
            clusterID: "c", node: .init(id: "a", address: "127.0.0.1:1", drives: ["/x/1", "/x/2", "/x/3"]), dataShards: 2, parityShards: 1, chunkSize: 64 << 10)
        try map.formPool()
        let drives = (0..<3).map { "\(cluster.root)/b\($0)" }
        for drive in drives { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
        try map.admit(.init(id: "b", address: "127.0.0.1:2", drives: drives))
        try map.formPool()
        let formats = map.formats(of: "b")
        #expect(formats.allSatisfy { $0.format.formatVersion == 2 } && map.formats(of: "a").allSatisfy { $0.format.formatVersion == 1 })
        try ClusterFormation.formOwnDrives(formats, durable: true)
        let alone = ClusterBackend(
            options: .init(drives: drives, dataShards: 2, parityShards: 1, chunkSize: 64 << 10, fsync: true, nodeID: "b"), logger: Logger(label: "test"),
            attach: { InProcessNetwork(faults: .none).attach(NodeID("b"), handler: $0) })
        await #expect(throws: ClusterStartup.Refused.self) { try await alone.open() }
    }
}
