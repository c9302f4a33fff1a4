import Foundation
import GRDB
import Logging
import StowageCore
import StowageInProcessTransport
import Testing
@testable import StowageCluster

/// The acceptor's `listRange` verb: a drive's rows in byte order within a scope, bounded by
/// prefix and marker, tombstones included, learners abstaining; on the wire and across nodes.
@Suite struct ListRangeTests {
    final class Catalog: Sendable {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-list-\(UUID().uuidString)")
        let catalog: DriveCatalog
        init() throws {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            catalog = try DriveCatalog.open(path: root.appendingPathComponent("d.sqlite").path, durable: false, logger: Logger(label: "test"))
        }
        deinit {
            try? catalog.close()
            try? FileManager.default.removeItem(at: root)
        }
    }

    let scope: [UInt8] = [7, 7]

    /// Accepts one value per key at the drive, a tombstone for keys ending in "!", and only a
    /// promise for keys ending in "?"; another scope gets a key too.
    private func fill(_ catalog: DriveCatalog, _ keys: [String]) async throws {
        let ballot = Ballot(ms: WallClock.nowMs(), logical: 0, nodeIndex: 1, incarnation: 1)
        for (index, key) in keys.enumerated() {
            let registerKey = RegisterKey(scope: scope, key: key)
            if key.hasSuffix("?") {
                _ = try await catalog.apply(.prepare(ballot), to: registerKey, wallMs: WallClock.nowMs(), isVoter: true)
                continue
            }
            let value = RegisterValue(writeID: WriteID(high: 9, low: UInt64(index)), tombstone: key.hasSuffix("!"), payload: Array(key.utf8))
            _ = try await catalog.apply(.accept(ballot, value, carriesData: false), to: registerKey, wallMs: WallClock.nowMs(), isVoter: true)
        }
        let other = RegisterKey(scope: [7, 8], key: "a/x")
        _ = try await catalog.apply(
            .accept(ballot, RegisterValue(writeID: WriteID(high: 9, low: 99)), carriesData: false), to: other, wallMs: WallClock.nowMs(), isVoter: true)
    }

    private func keys(_ reply: ListRangeReply) -> [String] {
        guard case .rows(let rows, _) = reply else { return [] }
        return rows.map { String(decoding: $0.key, as: UTF8.self) }
    }

    @Test(.timeLimit(.minutes(1))) func rowsInByteOrderWithinPrefixAndMarker() async throws {
        let drive = try Catalog()
        try await fill(drive.catalog, ["b", "a/2", "a/1!", "a/3?", "a", "a/é", "a/z", "ab", "a\u{7F}"])
        let all = try drive.catalog.listRange(ListRangeRequest(scope: scope), isVoter: true)
        #expect(keys(all) == ["a", "a/1!", "a/2", "a/z", "a/é", "ab", "a\u{7F}", "b"])
        if case .rows(_, let complete) = all { #expect(complete) }
        let prefixed = try drive.catalog.listRange(ListRangeRequest(scope: scope, prefix: Array("a/".utf8)), isVoter: true)
        #expect(keys(prefixed) == ["a/1!", "a/2", "a/z", "a/é"])
        let after = try drive.catalog.listRange(ListRangeRequest(scope: scope, prefix: Array("a/".utf8), after: Array("a/2".utf8)), isVoter: true)
        #expect(keys(after) == ["a/z", "a/é"])
        // A marker before the prefix starts at the prefix.
        let early = try drive.catalog.listRange(ListRangeRequest(scope: scope, prefix: Array("a/".utf8), after: Array("0".utf8)), isVoter: true)
        #expect(keys(early) == keys(prefixed))
        let page = try drive.catalog.listRange(ListRangeRequest(scope: scope, limit: 3), isVoter: true)
        #expect(keys(page) == ["a", "a/1!", "a/2"])
        guard case .rows(let rows, let complete) = page else { return }
        #expect(!complete)
        #expect(rows[1].accepted.value.tombstone)
        #expect(try drive.catalog.listRange(ListRangeRequest(scope: scope), isVoter: false) == .notVoter)
        // With a delimiter: one row per common prefix (its first, a tombstone here), keys
        // without one as usual.
        let slash = Array("/".utf8)
        let grouped = try drive.catalog.listRange(ListRangeRequest(scope: scope, delimiter: slash), isVoter: true)
        #expect(keys(grouped) == ["a", "a/1!", "ab", "a\u{7F}", "b"])
        if case .rows(_, let complete) = grouped { #expect(complete) }
        let short = try drive.catalog.listRange(ListRangeRequest(scope: scope, limit: 2, delimiter: slash), isVoter: true)
        #expect(keys(short) == ["a", "a/1!"])
        if case .rows(_, let complete) = short { #expect(!complete) }
        let inside = try drive.catalog.listRange(ListRangeRequest(scope: scope, prefix: Array("a/".utf8), delimiter: slash), isVoter: true)
        #expect(keys(inside) == keys(prefixed))
    }

    /// A row that does not decode fails the listing with its key, whole or grouped, with or
    /// without values: never a short page.
    @Test(.timeLimit(.minutes(1))) func aRowThatDoesNotDecodeFailsTheListing() async throws {
        let drive = try Catalog()
        try await fill(drive.catalog, ["a", "b/1", "c"])
        try await drive.catalog.pool.write { db in
            try db.execute(sql: "UPDATE registers SET ballot = x'01' WHERE key = ?", arguments: [Data("b/1".utf8)])
        }
        for request in [
            ListRangeRequest(scope: scope), ListRangeRequest(scope: scope, values: false),
            ListRangeRequest(scope: scope, delimiter: Array("/".utf8)),
        ] {
            #expect { try drive.catalog.listRange(request, isVoter: true) } throws: { error in
                (error as? DriveCatalog.CorruptRow)?.key?.key == Array("b/1".utf8)
            }
        }
        #expect(keys(try drive.catalog.listRange(ListRangeRequest(scope: scope, limit: 1), isVoter: true)) == ["a"])
    }

    @Test(.timeLimit(.minutes(1))) func wireRoundTripsAndRefusesDamage() async throws {
        let drive = try Catalog()
        try await fill(drive.catalog, ["x/1", "x/2!", "y"])
        let request = ListRangeRequest(scope: scope, prefix: Array("x/".utf8), after: Array("x/0".utf8), limit: 17)
        #expect(AcceptorWire.decodeListRange(AcceptorWire.encode(request)) == request)
        let grouped = ListRangeRequest(scope: scope, prefix: Array("x/".utf8), limit: 5, delimiter: Array("/".utf8))
        #expect(AcceptorWire.decodeListRange(AcceptorWire.encode(grouped)) == grouped)
        #expect(AcceptorWire.decodeListRange(AcceptorWire.encode(grouped) + [0]) == nil)
        let reply = try drive.catalog.listRange(request, isVoter: true)
        let bytes = AcceptorWire.encode(reply)
        #expect(AcceptorWire.decodeListRangeReply(bytes) == reply)
        #expect(AcceptorWire.decodeListRangeReply(AcceptorWire.encode(ListRangeReply.notVoter)) == .notVoter)
        for cut in 0..<bytes.count { #expect(AcceptorWire.decodeListRangeReply(Array(bytes[..<cut])) == nil) }
        #expect(AcceptorWire.decodeListRangeReply(bytes + [0]) == nil)
        var huge = [UInt8(2)] + [UInt8](repeating: 0xFF, count: 8)
        huge += [0]
        #expect(AcceptorWire.decodeListRangeReply(huge) == nil)
    }

    @Test(.timeLimit(.minutes(1))) func aRemoteDriveListsThroughTheTransport() async throws {
        let drive = try Catalog()
        try await fill(drive.catalog, ["k1", "k2!", "k3"])
        let network = InProcessNetwork()
        _ = network.attach(NodeID("n1"), handler: DriveRequestHandler(drives: ["d0": (drive.catalog, true)]))
        let transport = network.attach(NodeID("n0"), handler: DriveRequestHandler(drives: [:]))
        let remote = RemoteDriveReplica(transport: transport, node: NodeID("n1"), driveUUID: "d0")
        let request = ListRangeRequest(scope: scope, limit: 2)
        let local = try drive.catalog.listRange(request, isVoter: true)
        #expect(await remote.listRange(request) == local)
        #expect(keys(local) == ["k1", "k2!"])
        #expect(await RemoteDriveReplica(transport: transport, node: NodeID("n1"), driveUUID: "other").listRange(request) == nil)
    }
}
