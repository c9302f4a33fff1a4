import Foundation
import Logging
import NIOCore
import StowageCore
import Synchronization
import Testing
@testable import StowageCluster

/// ListObjects on the cluster backend beyond what the conformance suite checks: the read
/// rule per key, the quorum of drives per set, and the cost of a delimiter listing.
@Suite(.timeLimit(.minutes(2)))
struct ClusterListingTests {
    final class Drives: Sendable {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-list-\(UUID().uuidString)").path
        var paths: [String] { (1...6).map { "\(root)/d\($0)" } }
        init() {
            for path in paths { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    private func backend(_ drives: Drives) async throws -> ClusterBackend {
        let backend = ClusterBackend(options: .init(drives: drives.paths, chunkSize: 64 << 10, inlineLimit: 4 << 10), logger: Logger(label: "test"))
        try await backend.open()
        _ = try await backend.createBucket("listing", owner: .anonymous, region: "us-east-1")
        return backend
    }

    private func put(_ backend: ClusterBackend, _ key: String) async throws {
        _ = try await backend.putObject(ObjectAddress(bucket: "listing", key: key), body: S3Body(ByteBuffer(bytes: Array(key.utf8))), options: PutObjectOptions())
    }

    private func keys(_ backend: ClusterBackend, delimiter: String? = nil) async throws -> [String] {
        let page = try await backend.listObjects(bucket: "listing", query: ListObjectsQuery(delimiter: delimiter, maxKeys: 1000))
        return page.objects.map(\.key) + page.commonPrefixes
    }

    @Test func fewerThanRDrivesAnsweringIsA503NotAShortListing() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        for key in ["a", "b", "c"] { try await put(backend, key) }
        // Four drives out: R = 3 cannot be met.
        for path in drives.paths.prefix(4) { try FileManager.default.moveItem(atPath: path, toPath: path + "-away") }
        await backend.probeDrives()
        await #expect(throws: S3Error.self) { _ = try await self.keys(backend) }
        do {
            _ = try await keys(backend)
        } catch let error as S3Error {
            #expect(error.code == .serviceUnavailable)
        }
        for path in drives.paths.prefix(4) { try FileManager.default.moveItem(atPath: path + "-away", toPath: path) }
        await backend.probeDrives()
        #expect(try await keys(backend) == ["a", "b", "c"])
        try await backend.close()
    }

    /// A delete accepted by one drive only (its coordinator died): the newest value that
    /// drive lists is not known chosen, so the key goes through the register's read rule,
    /// and listings agree with what HEAD answers once it has settled the key.
    @Test func aKeyInDoubtIsResolvedByTheReadRule() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        for key in ["k1", "k2"] { try await put(backend, key) }
        let state = try backend.openState()
        let located = try await backend.locate(ObjectAddress(bucket: "listing", key: "k1"), state: state)
        let ballot = try await located.set.coordinator.clock.issue(above: nil)
        let tombstone = RegisterValue(writeID: .random(), tombstone: true)
        // Slot 0: among the R drives a listing reads first, so the in-doubt path runs.
        let slot = 0
        let reply = try await located.set.localDrives[slot]!.catalog!.apply(
            .accept(ballot, tombstone, carriesData: false), to: located.key, wallMs: WallClock.nowMs(), isVoter: true)
        #expect(reply == .accepted(voter: true, holdsData: false))

        let listed = try await keys(backend)
        // Settle the key (a read that saw only drives without the delete would not): a
        // conditional write of whatever is current, at a fresh ballot.
        guard case .written = await located.set.coordinator.compareAndSet(key: located.key, decide: { .write($0?.value ?? tombstone) }) else {
            Issue.record("settling failed")
            return
        }
        let k1Readable: Bool
        do {
            _ = try await backend.headObject(ObjectAddress(bucket: "listing", key: "k1"), options: GetObjectOptions())
            k1Readable = true
        } catch let error as S3Error where error.code == .noSuchKey {
            k1Readable = false
        }
        // The delete was in doubt when the listing ran: either answer is linearizable then.
        // Once the key is settled, every listing agrees with HEAD.
        #expect(listed == ["k1", "k2"] || listed == ["k2"])
        #expect(try await keys(backend) == (k1Readable ? ["k1", "k2"] : ["k2"]), "a listing after settling agrees")
        try await backend.close()
    }

    @Test func aDelimiterListingSkipsEachCommonPrefix() async throws {
        let drives = Drives()
        let backend = try await backend(drives)
        for folder in 0..<5 {
            for item in 0..<60 { try await put(backend, "f\(folder)/\(item)") }
        }
        try await put(backend, "top")
        #expect(try await keys(backend, delimiter: "/") == ["top", "f0/", "f1/", "f2/", "f3/", "f4/"])
        let page = try await backend.listObjects(bucket: "listing", query: ListObjectsQuery(prefix: "f3/", maxKeys: 1000))
        #expect(page.objects.count == 60)
        try await backend.close()
    }
}

/// A drive that answers `listRange` a few times, then stops answering (a drive failing mid
/// listing); the register verbs go to the real catalog.
struct ListingStopsAfter: RegisterReplica {
    let base: LocalDriveReplica
    let answers: Int
    let calls = Counter()

    final class Counter: Sendable {
        private let value = Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
        var count: Int { value.withLock { $0 } }
    }

    func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery { await base.handle(request, key: key) }
    func listRange(_ request: ListRangeRequest) async -> ListRangeReply? {
        calls.next() <= answers ? await base.listRange(request) : nil
    }
}

@Suite struct SetKeySourceTests {
    @Test func aDriveFallingSilentMidListingIsReplacedFromWhereTheListingGotTo() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-sks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let catalogs = try (0..<6).map { try DriveCatalog.open(path: "\(root)/c\($0).sqlite", durable: false, logger: Logger(label: "test")) }
        defer { for catalog in catalogs { try? catalog.close() } }
        let failing = ListingStopsAfter(base: LocalDriveReplica(catalog: catalogs[0], isVoter: true), answers: 2)
        let replicas: [any RegisterReplica] = [failing] + catalogs.dropFirst().map { LocalDriveReplica(catalog: $0, isVoter: true) }
        let clock = NodeClock(nodeIndex: 0, reservedUpToMs: 0) { upTo in for catalog in catalogs { try await catalog.reserveClock(upToMs: upTo) } }
        let coordinator = RegisterCoordinator(replicas: replicas, clock: clock)
        let scope: [UInt8] = [4]
        let keys = (0..<50).map { String(format: "k%03d", $0) }
        for key in keys {
            guard case .written = await coordinator.write(RegisterValue(writeID: .random(), payload: [1]), key: RegisterKey(scope: scope, key: key)) else {
                Issue.record("write \(key)")
                return
            }
        }
        let set = ClusterBackend.ErasureSet(index: 0, drives: Array(repeating: nil, count: 6), coordinator: coordinator)
        var source = SetKeySource(set: set, scope: scope, prefix: [], readQuorum: 3, pageSize: 10)
        var listed: [String] = []
        while let (key, _) = try await source.next() { listed.append(String(decoding: key, as: UTF8.self)) }
        #expect(listed == keys)
        #expect(failing.calls.count == 3, "the drive answered twice, then fell silent once and was not asked again")
    }
}
