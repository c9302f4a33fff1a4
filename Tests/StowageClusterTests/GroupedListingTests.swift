import Foundation
import Logging
import StowageCore
import Synchronization
import Testing
@testable import StowageCluster

/// Delimiter listings whose drives answer one key per common prefix (CLUSTER.md §5): over
/// histories where drives missed writes and deletes, a grouped listing answers exactly what
/// reading every key answers and what the model says, while reading far fewer rows.
@Suite(.timeLimit(.minutes(2)))
struct GroupedListingTests {
    /// A drive the write cannot reach (out of rotation while it runs).
    struct Unreachable: RegisterReplica {
        func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery { .notDelivered }
        var isOnline: Bool { false }
        func listRange(_ request: ListRangeRequest) async -> ListRangeReply? { nil }
    }

    /// A drive that counts the rows its listings answer.
    final class Counting: RegisterReplica {
        let base: LocalDriveReplica
        let rows = Mutex(0)
        let grouped = Mutex(0)
        init(base: LocalDriveReplica) { self.base = base }
        func handle(_ request: AcceptorRequest, key: RegisterKey) async -> Delivery { await base.handle(request, key: key) }
        func listRange(_ request: ListRangeRequest) async -> ListRangeReply? {
            let reply = await base.listRange(request)
            if case .rows(let rows, _)? = reply {
                self.rows.withLock { $0 += rows.count }
                if request.delimiter != nil { grouped.withLock { $0 += 1 } }
            }
            return reply
        }
        var listsInPlace: Bool { true }
    }

    final class Catalogs: Sendable {
        let root: String
        let catalogs: [DriveCatalog]
        let clock: NodeClock

        init() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-grouped-\(UUID().uuidString)").path
            self.root = root
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let catalogs = try (0..<6).map { try DriveCatalog.open(path: "\(root)/c\($0).sqlite", durable: false, logger: Logger(label: "test")) }
            self.catalogs = catalogs
            clock = NodeClock(nodeIndex: 0, reservedUpToMs: 0) { upTo in for catalog in catalogs { try await catalog.reserveClock(upToMs: upTo) } }
        }

        deinit {
            for catalog in catalogs { try? catalog.close() }
            try? FileManager.default.removeItem(atPath: root)
        }

        /// A coordinator that cannot reach the drives in `missing`.
        func coordinator(missing: Set<Int> = []) -> RegisterCoordinator {
            RegisterCoordinator(
                replicas: catalogs.indices.map { missing.contains($0) ? Unreachable() as any RegisterReplica : LocalDriveReplica(catalog: catalogs[$0], isVoter: true) },
                clock: clock)
        }
    }

    static let scope: [UInt8] = [7]

    /// One page through Core's pager, as the backend pages a listing.
    static func page(
        _ replicas: [any RegisterReplica], clock: NodeClock, prefix: String, delimiter: String?, grouped: Bool, maxKeys: Int
    ) async throws -> [String] {
        var pager = ListingPager<String>(prefix: prefix, delimiter: delimiter, marker: nil, maxKeys: maxKeys)
        let set = ClusterBackend.ErasureSet(index: 0, drives: Array(repeating: nil, count: 6), coordinator: RegisterCoordinator(replicas: replicas, clock: clock))
        var source = SetKeySource(
            set: set, scope: scope, prefix: pager.prefix, readQuorum: 3, pageSize: max(1, min(1_000, maxKeys + 1)),
            delimiter: grouped ? pager.delimiter : nil)
        // Every live value is its key's bytes: a listing that returned a copy without its
        // payload (or another key's) shows it.
        let page = try await pager.fill(from: &source) { key, value in
            String(decoding: key, as: UTF8.self) + (value.value.payload == key ? "" : " (wrong value \(value.value.payload))")
        }
        return page.entries + page.commonPrefixes.map { "prefix:" + $0 } + (page.isTruncated ? ["truncated"] : [])
    }

    /// Every page of a listing, `maxKeys` at a time, each opened at the last one's NextMarker
    /// as a client continues: the entries and common prefixes of all of them.
    static func allPages(
        _ replicas: [any RegisterReplica], clock: NodeClock, prefix: String, delimiter: String?, maxKeys: Int
    ) async throws -> [String] {
        var listed: [String] = [], prefixes: [String] = [], marker: String?
        for _ in 0..<1_000 {
            var pager = ListingPager<String>(prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
            let set = ClusterBackend.ErasureSet(index: 0, drives: Array(repeating: nil, count: 6), coordinator: RegisterCoordinator(replicas: replicas, clock: clock))
            var source = SetKeySource(
                set: set, scope: scope, prefix: pager.prefix, readQuorum: 3, pageSize: 16, delimiter: pager.delimiter)
            let page = try await pager.fill(from: &source) { key, _ in String(decoding: key, as: UTF8.self) }
            listed += page.entries
            prefixes += page.commonPrefixes
            guard page.isTruncated, let next = page.nextMarker else { break }
            marker = next
        }
        return listed.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            + prefixes.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "prefix:" + $0 }
    }

    /// What a listing of `live` answers with everything on one page.
    static func expected(_ live: Set<String>, prefix: String, delimiter: String) -> [String] {
        var keys: [String] = [], prefixes = Set<String>()
        for key in live where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            if let range = rest.range(of: delimiter) {
                prefixes.insert(prefix + rest[..<range.upperBound])
            } else {
                keys.append(key)
            }
        }
        return keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            + prefixes.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "prefix:" + $0 }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func groupedListingsAnswerWhatReadingEveryKeyAnswers(seed: UInt64) async throws {
        let drives = try Catalogs()
        var random = SimRandom(seed: seed)
        let names = (0..<8).flatMap { group in
            (0..<8).map { item in item == 7 ? "g\(group)/sub/\(item)" : "g\(group)/\(item)" }
        } + ["top", "g1", "é/1", "é/2", "z"]
        var live = Set<String>()
        for _ in 0..<400 {
            let name = names[random.int(0..<names.count)]
            // Up to two drives miss the write (a 4+2 set still has its write quorum).
            var missing = Set<Int>()
            for _ in 0..<random.int(0...2) { missing.insert(random.int(0..<6)) }
            let delete = random.chance(0.35)
            let value = delete ? RegisterValue(writeID: .random(), tombstone: true) : RegisterValue(writeID: .random(), payload: Array(name.utf8))
            guard case .written = await drives.coordinator(missing: missing).write(value, key: RegisterKey(scope: Self.scope, key: name)) else {
                Issue.record("write of \(name) missing \(missing)")
                return
            }
            if delete { live.remove(name) } else { live.insert(name) }
        }
        let replicas = drives.catalogs.map { LocalDriveReplica(catalog: $0, isVoter: true) as any RegisterReplica }
        for (prefix, delimiter) in [("", "/"), ("g3/", "/"), ("", "sub"), ("g", "/")] {
            let grouped = try await Self.page(replicas, clock: drives.clock, prefix: prefix, delimiter: delimiter, grouped: true, maxKeys: 1000)
            let plain = try await Self.page(replicas, clock: drives.clock, prefix: prefix, delimiter: delimiter, grouped: false, maxKeys: 1000)
            #expect(grouped == Self.expected(live, prefix: prefix, delimiter: delimiter), "seed \(seed), prefix \(prefix), delimiter \(delimiter)")
            #expect(grouped == plain)
            // Paged by clients three items at a time, with a drive that falls silent after
            // two answers (a standby joins where the listing got to).
            let flaky: [any RegisterReplica] = [replicas[0], ListingStopsAfter(base: LocalDriveReplica(catalog: drives.catalogs[1], isVoter: true), answers: 2)]
                + replicas.dropFirst(2)
            #expect(try await Self.allPages(flaky, clock: drives.clock, prefix: prefix, delimiter: delimiter, maxKeys: 3)
                == Self.expected(live, prefix: prefix, delimiter: delimiter), "paged, seed \(seed)")
            for maxKeys in [1, 3] {
                let short = try await Self.page(replicas, clock: drives.clock, prefix: prefix, delimiter: delimiter, grouped: true, maxKeys: maxKeys)
                #expect(short == (try await Self.page(replicas, clock: drives.clock, prefix: prefix, delimiter: delimiter, grouped: false, maxKeys: maxKeys)))
            }
        }
    }

    /// The first key of a common prefix deleted on the drives that hold it, the next one
    /// live on a drive the listing reads: the prefix is listed. Every key of a prefix
    /// deleted: it is not.
    @Test func aCommonPrefixWhoseFirstKeyIsDeletedIsListedFromItsNextKey() async throws {
        let drives = try Catalogs()
        for key in ["a/1", "a/2", "a/3", "b/1", "c/1", "c/2"] {
            _ = await drives.coordinator().write(RegisterValue(writeID: .random(), payload: Array(key.utf8)), key: RegisterKey(scope: Self.scope, key: key))
        }
        // a/1 and a/2 deleted, each while two drives were out; b/1 deleted; c/1 deleted.
        for (key, missing) in [("a/1", [0, 1]), ("a/2", [2, 3]), ("b/1", []), ("c/1", [4, 5])] {
            _ = await drives.coordinator(missing: Set(missing)).write(
                RegisterValue(writeID: .random(), tombstone: true), key: RegisterKey(scope: Self.scope, key: key))
        }
        let counting = drives.catalogs.map { Counting(base: LocalDriveReplica(catalog: $0, isVoter: true)) }
        let listed = try await Self.page(counting, clock: drives.clock, prefix: "", delimiter: "/", grouped: true, maxKeys: 1000)
        #expect(listed == ["prefix:a/", "prefix:c/"])
        #expect(counting.contains { $0.grouped.withLock { $0 } > 0 }, "the drives were asked for grouped rows")
    }

    /// A caller that seeks into a common prefix after the key that stood for it gets the
    /// prefix's later keys (the drives skipped them), not the next prefix's.
    @Test func aSeekIntoASkippedPrefixReadsItAgain() async throws {
        let drives = try Catalogs()
        for key in ["a/1", "a/2", "a/3", "b/1"] {
            _ = await drives.coordinator().write(RegisterValue(writeID: .random(), payload: Array(key.utf8)), key: RegisterKey(scope: Self.scope, key: key))
        }
        let replicas = drives.catalogs.map { LocalDriveReplica(catalog: $0, isVoter: true) as any RegisterReplica }
        let set = ClusterBackend.ErasureSet(index: 0, drives: Array(repeating: nil, count: 6), coordinator: RegisterCoordinator(replicas: replicas, clock: drives.clock))
        var source = SetKeySource(set: set, scope: Self.scope, prefix: [], readQuorum: 3, delimiter: Array("/".utf8))
        #expect(try await source.next()?.key == Array("a/1".utf8))
        try await source.seek(.after(Array("a/1".utf8)))
        #expect(try await source.next()?.key == Array("a/2".utf8))
        try await source.seek(.atOrAfter(Array("b/".utf8)))
        #expect(try await source.next()?.key == Array("b/1".utf8))
        #expect(try await source.next() == nil)
    }

    /// Keys written while the drive that brings a listing's values was out (and then
    /// overwritten while it was back): the values come from a register read, not from a copy
    /// without its payload.
    @Test func keysTheValueDriveMissedListWithTheirValues() async throws {
        let drives = try Catalogs()
        for key in ["k1", "k2", "k3"] {
            _ = await drives.coordinator(missing: [0]).write(RegisterValue(writeID: .random(), payload: Array(key.utf8)), key: RegisterKey(scope: Self.scope, key: key))
        }
        _ = await drives.coordinator(missing: [0, 1]).write(RegisterValue(writeID: .random(), payload: Array("k4".utf8)), key: RegisterKey(scope: Self.scope, key: "k4"))
        let replicas = drives.catalogs.map { LocalDriveReplica(catalog: $0, isVoter: true) as any RegisterReplica }
        #expect(try await Self.page(replicas, clock: drives.clock, prefix: "", delimiter: nil, grouped: false, maxKeys: 1000) == ["k1", "k2", "k3", "k4"])
    }

    /// A hundred common prefixes of a hundred keys each: the grouped listing reads about a
    /// row per prefix per drive read, reading every key reads them all.
    @Test func aGroupedListingReadsARowPerCommonPrefix() async throws {
        let drives = try Catalogs()
        let coordinator = drives.coordinator()
        for group in 0..<100 {
            for item in 0..<100 {
                let key = String(format: "p%03d/%03d", group, item)
                _ = await coordinator.write(RegisterValue(writeID: .random(), payload: Array(key.utf8)), key: RegisterKey(scope: Self.scope, key: key))
            }
        }
        var rows: [Bool: Int] = [:]
        for grouped in [true, false] {
            let counting = drives.catalogs.map { Counting(base: LocalDriveReplica(catalog: $0, isVoter: true)) }
            let listed = try await Self.page(counting, clock: drives.clock, prefix: "", delimiter: "/", grouped: grouped, maxKeys: 1000)
            #expect(listed.count == 100 && listed.allSatisfy { $0.hasPrefix("prefix:p") })
            rows[grouped] = counting.reduce(0) { $0 + $1.rows.withLock { $0 } }
        }
        // R = 3 drives read: 300 rows grouped (and a few extra per fetch), several times that without.
        #expect(rows[true]! <= 3 * 110, "grouped rows: \(rows[true]!)")
        #expect(rows[false]! > 3 * rows[true]!, "rows without grouping: \(rows[false]!)")
    }
}
