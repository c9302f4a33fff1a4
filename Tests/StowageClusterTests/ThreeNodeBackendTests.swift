import Foundation
import Logging
import NIOCore
import StowageCore
import StowageInProcessTransport
import Testing
@testable import StowageCluster

/// The cluster backend on three nodes with two drives each, in one process: one 4+2 set
/// interleaved across the nodes, each node a `ClusterBackend` coordinating its own requests,
/// shards and registers on the other nodes' drives reached through the in-process transport.
@Suite struct ThreeNodeBackendTests {
    final class Nodes: Sendable {
        let root: String
        let network: InProcessNetwork
        let backends: [ClusterBackend]

        init(faults: FaultPlan = .none) async throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-3node-\(UUID().uuidString)").path
            self.root = root
            let nodes = (0..<3).map { node in
                ErasureSetFormation.Node(id: "n\(node)", drives: (0..<2).map { "\(root)/n\(node)/d\($0)" })
            }
            for node in nodes {
                for drive in node.drives { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
            }
            // Several nodes need fsync on (CLUSTER.md §2, F3).
            try ClusterFormation.formDrives(nodes: nodes, dataShards: 4, parityShards: 2, chunkSize: 64 << 10, durable: true)
            let network = InProcessNetwork(faults: faults)
            self.network = network
            backends = nodes.map { node in
                ClusterBackend(
                    options: .init(drives: node.drives, chunkSize: 64 << 10, fsync: true, inlineLimit: 4 << 10, nodeID: node.id),
                    logger: Logger(label: "test")
                ) { network.attach(NodeID(node.id), handler: $0) }
            }
            for backend in backends { try await backend.open() }
        }

        func shutdown() async {
            for backend in backends { try? await backend.close() }
            try? FileManager.default.removeItem(atPath: root)
        }

        /// Shard files of every node's drives (of one data reference, if given), by node.
        func shardFiles(of dataRef: [UInt8]? = nil) -> [Int] {
            let name = dataRef.map { $0.map { String(format: "%02x", $0) }.joined() + ".p1.s" } ?? ".p1.s"
            return (0..<3).map { node in
                (0..<2).reduce(0) { count, drive in
                    let data = "\(root)/n\(node)/d\(drive)/.stowage/data"
                    let files = FileManager.default.enumerator(atPath: data)?.allObjects.compactMap { $0 as? String } ?? []
                    return count + files.filter { $0.contains(name) }.count
                }
            }
        }
    }

    private func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed) &* 7) } }

    private func put(_ backend: ClusterBackend, _ key: String, _ data: [UInt8], conditions: WriteConditions = WriteConditions()) async throws -> ObjectInfo {
        try await backend.putObject(
            ObjectAddress(bucket: "three", key: key), body: S3Body(ByteBuffer(bytes: data)),
            options: PutObjectOptions(expectedSize: Int64(data.count), conditions: conditions))
    }

    private func get(_ backend: ClusterBackend, _ key: String, range: RangeRequest? = nil) async throws -> [UInt8] {
        try await backend.bytes(of: ObjectAddress(bucket: "three", key: key), options: GetObjectOptions(range: range))
    }

    /// Polls `done` until it holds or the tries run out (the caller checks the state after).
    private func waitUntil(tries: Int, every interval: Duration, _ done: () -> Bool) async throws {
        var left = tries
        while !done() && left > 0 {
            try await Task.sleep(for: interval)
            left -= 1
        }
    }

    private func code(_ body: () async throws -> Void) async -> S3ErrorCode? {
        do {
            try await body()
            return nil
        } catch let error as S3Error {
            return error.code
        } catch {
            return .internalError
        }
    }

    @Test(.timeLimit(.minutes(2))) func sameOperationsThroughEveryCoordinator() async throws {
        let nodes = try await Nodes()
        _ = try await nodes.backends[0].createBucket("three", owner: .anonymous, region: "us-east-1")
        // Empty, inline, one chunk, several chunks with a short last one.
        let sizes = [0, 100, 4 << 10, 50_000, 300_017]
        for (index, size) in sizes.enumerated() {
            let data = bytes(size, seed: UInt8(index))
            let writer = nodes.backends[index % 3]
            let info = try await put(writer, "k\(size)", data)
            #expect(info.size == Int64(size))
            for (node, reader) in nodes.backends.enumerated() {
                #expect(try await get(reader, "k\(size)") == data, "size \(size) read through n\(node)")
                let head = try await reader.headObject(ObjectAddress(bucket: "three", key: "k\(size)"), options: GetObjectOptions())
                #expect(head.info.etag == info.etag)
                if size > 10 {
                    #expect(try await get(reader, "k\(size)", range: .fromTo(3, Int64(size / 2))) == Array(data[3...(size / 2)]))
                }
            }
        }
        // The data of a multi-chunk object lives on every node: two shards each.
        let state = try nodes.backends[1].openState()
        let located = try await nodes.backends[1].locate(ObjectAddress(bucket: "three", key: "k300017"), state: state)
        let manifest = try #require(try await nodes.backends[1].currentManifest(located))
        #expect(nodes.shardFiles(of: Array(manifest.versionID)) == [2, 2, 2])
        // Overwrite through one node, read the new bytes through the others.
        let second = bytes(70_000, seed: 99)
        _ = try await put(nodes.backends[2], "k300017", second)
        for reader in nodes.backends { #expect(try await get(reader, "k300017") == second) }
        // Delete through yet another node: gone everywhere.
        try await nodes.backends[1].deleteObject(ObjectAddress(bucket: "three", key: "k300017"), conditions: WriteConditions())
        for reader in nodes.backends {
            #expect(await code { _ = try await self.get(reader, "k300017") } == .noSuchKey)
        }
        #expect(try await nodes.backends[2].listBuckets().map(\.name) == ["three"])
        await nodes.shutdown()
    }

    @Test(.timeLimit(.minutes(3)), arguments: [false, true])
    func racingConditionalWritersHaveOneWinner(lossyNetwork: Bool) async throws {
        let nodes = try await Nodes()
        _ = try await nodes.backends[0].createBucket("three", owner: .anonymous, region: "us-east-1")
        if lossyNetwork { nodes.network.faults = FaultPlan(seed: 21, dropRequest: 0.02, dropReply: 0.02, duplicate: 0.1) }
        var unknown = 0
        for round in 0..<20 {
            let key = "race-\(round)"
            // Big enough for shard files, so the data path races too.
            let bodies = (0..<3).map { bytes(20_000 + $0, seed: UInt8(round * 3 + $0)) }
            let outcomes = await withTaskGroup(of: (Int, S3ErrorCode?).self) { group in
                for node in 0..<3 {
                    group.addTask {
                        (node, await self.code { _ = try await self.put(nodes.backends[node], key, bodies[node], conditions: WriteConditions(ifNoneMatch: ["*"])) })
                    }
                }
                return await group.reduce(into: [(Int, S3ErrorCode?)]()) { $0.append($1) }
            }
            let winners = outcomes.filter { $0.1 == nil }.map(\.0)
            let refused = outcomes.filter { $0.1 == .preconditionFailed }.map(\.0)
            // 503 either way: ServiceUnavailable (no quorum, nothing changed) or SlowDown
            // (outcome unknown).
            unknown += outcomes.filter { $0.1 == .serviceUnavailable || $0.1 == .slowDown }.count
            #expect(winners.count <= 1, "round \(round): \(outcomes)")
            // Without faults one wins; a writer preempted after a partial accept may still end
            // "outcome unknown" (503) rather than 412, and then no one may be known to win.
            if !lossyNetwork { #expect(winners.count == 1 || outcomes.contains { $0.1 == .slowDown }, "round \(round): \(outcomes)") }
            #expect(outcomes.allSatisfy { $0.1 == nil || $0.1 == .preconditionFailed || $0.1 == .serviceUnavailable || $0.1 == .slowDown }, "\(outcomes)")
            // Every node then reads the same bytes: the winner's, never a refused writer's.
            let saved = nodes.network.faults
            nodes.network.faults = .none
            var seen: [[UInt8]?] = []
            for reader in nodes.backends {
                do {
                    seen.append(try await get(reader, key))
                } catch let error as S3Error where error.code == .noSuchKey {
                    seen.append(nil)
                }
            }
            nodes.network.faults = saved
            #expect(Set(seen.map { $0.map { $0.count } ?? -1 }).count == 1, "round \(round): nodes disagree")
            if let winner = winners.first { #expect(seen.first! == bodies[winner], "round \(round)") }
            for loser in refused { #expect(seen.first! != bodies[loser], "round \(round): a 412 for a write that took effect") }
        }
        print("3 nodes, racing conditional PUTs (lossy: \(lossyNetwork)): \(unknown) of 60 answered 503")
        await nodes.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func aNodeCutOffLeavesTheOthersServingAndAllServeAfterHealing() async throws {
        let nodes = try await Nodes()
        _ = try await nodes.backends[0].createBucket("three", owner: .anonymous, region: "us-east-1")
        let before = bytes(200_000, seed: 5)
        _ = try await put(nodes.backends[0], "before", before)

        nodes.network.partition([[NodeID("n0"), NodeID("n1")], [NodeID("n2")]])
        // Before any probe notices: the write codes for 6 drives, reaches 4, and W_data is 5.
        // Its streams to n2 fail and its stages there are not delivered: 503, nothing visible.
        #expect(await code { _ = try await self.put(nodes.backends[0], "unnoticed", self.bytes(90_000, seed: 9)) } == .serviceUnavailable)
        #expect(await code { _ = try await self.get(nodes.backends[1], "unnoticed") } == .noSuchKey)
        for backend in nodes.backends { await backend.probeDrives() }
        // Two shards of every chunk are out of reach: reads reconstruct, writes raise parity.
        for reader in nodes.backends.prefix(2) { #expect(try await get(reader, "before") == before) }
        let during = bytes(150_000, seed: 6)
        _ = try await put(nodes.backends[1], "during", during)
        #expect(try await get(nodes.backends[0], "during") == during)
        // The cut-off node reaches 2 of 6 drives: a clean 503, nothing written.
        #expect(await code { _ = try await self.get(nodes.backends[2], "before") } == .serviceUnavailable)
        #expect(await code { _ = try await self.put(nodes.backends[2], "isolated", [1, 2, 3]) } == .serviceUnavailable)

        nodes.network.heal()
        for backend in nodes.backends { await backend.probeDrives() }
        for reader in nodes.backends {
            #expect(try await get(reader, "before") == before)
            #expect(try await get(reader, "during") == during)
            #expect(await code { _ = try await self.get(reader, "isolated") } == .noSuchKey)
            #expect(await code { _ = try await self.get(reader, "unnoticed") } == .noSuchKey)
        }
        await nodes.shutdown()
    }

    /// A body that fails part way: the PUT fails, and no node keeps a shard of it.
    @Test(.timeLimit(.minutes(1))) func anUploadCutOffMidwayLeavesNoShardOnAnyNode() async throws {
        let nodes = try await Nodes()
        _ = try await nodes.backends[0].createBucket("three", owner: .anonymous, region: "us-east-1")
        _ = try await put(nodes.backends[0], "kept", bytes(100_000, seed: 1))
        let before = nodes.shardFiles()
        struct ClientGone: Error {}
        let (stream, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        for piece in 0..<5 { feed.yield(ByteBuffer(bytes: bytes(40_000, seed: UInt8(piece)))) }
        feed.finish(throwing: ClientGone())
        await #expect(throws: (any Error).self) {
            _ = try await nodes.backends[1].putObject(
                ObjectAddress(bucket: "three", key: "cut"), body: S3Body(stream: stream, length: 1 << 20),
                options: PutObjectOptions(expectedSize: 1 << 20))
        }
        try await waitUntil(tries: 100, every: .milliseconds(20)) { nodes.shardFiles() == before }
        #expect(nodes.shardFiles() == before)
        #expect(await code { _ = try await self.get(nodes.backends[2], "cut") } == .noSuchKey)
        await nodes.shutdown()
    }

    /// The peer's side of an abandoned shard on its own (the coordinator's clean-up not
    /// involved): the peer removes the file it was writing as soon as the body fails.
    @Test(.timeLimit(.minutes(1))) func anAbandonedShardStreamLeavesNoFileOnThePeer() async throws {
        let nodes = try await Nodes()
        let state = try nodes.backends[0].openState()
        let remote = try #require(state.remote.first)
        let dataRef = WriteID.random().bytes
        guard case .stream(let stream) = try remote.createShard(dataRef: dataRef, part: 1, slot: 3) else {
            Issue.record("a drive on another node must take a stream")
            return
        }
        try await stream.append(ByteBuffer(bytes: bytes(10_000, seed: 4)))
        try await waitUntil(tries: 100, every: .milliseconds(10)) { nodes.shardFiles(of: dataRef).reduce(0, +) > 0 }
        #expect(nodes.shardFiles(of: dataRef).reduce(0, +) == 1, "the peer writes as the records arrive")
        stream.abandon()
        try await waitUntil(tries: 100, every: .milliseconds(10)) { nodes.shardFiles(of: dataRef).reduce(0, +) == 0 }
        #expect(nodes.shardFiles(of: dataRef).reduce(0, +) == 0)
        // A finished stream, by contrast, stays (synced) for the stage that follows.
        let kept = WriteID.random().bytes
        guard case .stream(let whole) = try remote.createShard(dataRef: kept, part: 1, slot: 3) else { return }
        try await whole.append(ByteBuffer(bytes: bytes(10_000, seed: 5)))
        try await whole.finish()
        #expect(nodes.shardFiles(of: kept).reduce(0, +) == 1)
        await nodes.shutdown()
    }

    /// The collector of one node reaches the other nodes' drives: data staged by a write that
    /// died before the register goes from every node; a chosen write's data stays.
    @Test(.timeLimit(.minutes(1))) func theCollectorWorksAcrossNodes() async throws {
        let nodes = try await Nodes()
        let backend = nodes.backends[0]
        _ = try await backend.createBucket("three", owner: .anonymous, region: "us-east-1")
        let current = bytes(100_000, seed: 1)
        _ = try await put(backend, "k", current)
        let live = nodes.shardFiles()
        let state = try backend.openState()
        let located = try await backend.locate(ObjectAddress(bucket: "three", key: "k"), state: state)
        let orphanID = WriteID.random().bytes
        let staged = try await backend.stage(
            body: S3Body(ByteBuffer(bytes: bytes(100_000, seed: 2))), options: PutObjectOptions(), versionID: orphanID,
            located: located, state: state)
        #expect(nodes.shardFiles() == live.map { $0 + 2 })

        let job = ClusterBackend.CollectionJob(versionID: orphanID, located: located, parts: [staged.part], due: .now)
        #expect(await backend.collect(job) == .collect)
        #expect(nodes.shardFiles() == live)

        guard case .found(let chosen?) = await located.set.coordinator.read(key: located.key) else {
            Issue.record("no chosen value")
            return
        }
        let manifest = try ObjectManifest.decode(chosen.value)
        let liveJob = ClusterBackend.CollectionJob(versionID: Array(manifest.versionID), located: located, parts: manifest.parts, due: .now)
        #expect(await nodes.backends[2].collect(liveJob) == .keep(.chosenValueReferencesIt))
        #expect(nodes.shardFiles() == live)
        for reader in nodes.backends { #expect(try await get(reader, "k") == current) }
        // Released on every node: an overwrite adopts data as usual.
        let next = bytes(50_000, seed: 3)
        _ = try await put(nodes.backends[1], "k", next)
        #expect(try await get(nodes.backends[2], "k") == next)
        await nodes.shutdown()
    }
}
