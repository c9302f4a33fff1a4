import StowageCore
import Testing
import Foundation

/// Keys in byte order with an optional value; seeks by binary search, and counts them.
private struct ArraySource: OrderedKeySource {
    let keys: [[UInt8]]
    var index = 0
    var seeks = 0

    init(_ keys: [String]) { self.keys = Set(keys).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) } }

    mutating func next() async throws -> (key: [UInt8], value: Int)? {
        guard index < keys.count else { return nil }
        defer { index += 1 }
        return (keys[index], index)
    }

    mutating func seek(_ position: ListingPosition) async throws {
        seeks += 1
        var low = 0, high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if position.admits(keys[middle]) { high = middle } else { low = middle + 1 }
        }
        index = max(index, low)
    }
}

/// A small deterministic generator, so a failing case replays from its seed.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// S3's listing rules written the slow, obvious way: every key, filtered, rolled up, cut.
/// `max-keys=0` answers an empty page that is not truncated, as Stowage always has.
private func reference(_ keys: [String], prefix: String, delimiter: String?, marker: String?, maxKeys: Int)
    -> (entries: [String], prefixes: [String], truncated: Bool, next: String?) {
    let sorted = Set(keys).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    let delimiter = delimiter.flatMap { $0.isEmpty ? nil : $0 }
    func group(_ key: String) -> (String, isPrefix: Bool) {
        guard let delimiter else { return (key, false) }
        let rest = key.utf8.dropFirst(prefix.utf8.count)
        guard let range = String(decoding: rest, as: UTF8.self).range(of: delimiter) else { return (key, false) }
        return (prefix + String(String(decoding: rest, as: UTF8.self)[..<range.upperBound]), true)
    }
    var items: [(String, Bool)] = []
    for key in sorted where key.utf8.starts(with: prefix.utf8) {
        if let marker, !marker.utf8.lexicographicallyPrecedes(key.utf8) { continue }
        let (item, isPrefix) = group(key)
        if isPrefix {
            if items.last?.0 == item { continue }
            if let marker, marker.utf8.starts(with: item.utf8) { continue }
        }
        items.append((item, isPrefix))
    }
    guard maxKeys > 0 else { return ([], [], false, nil) }
    let page = items.prefix(maxKeys)
    let truncated = items.count > page.count
    return (page.filter { !$0.1 }.map(\.0), page.filter { $0.1 }.map(\.0), truncated, truncated ? page.last?.0 : nil)
}

@Suite("Listing pager and merged cursor")
struct ListingPagerTests {
    func page(_ keys: [String], prefix: String = "", delimiter: String? = nil, marker: String? = nil, maxKeys: Int = 1000) async throws
        -> ListingPager<String>.Page {
        var source = ArraySource(keys)
        var pager = ListingPager<String>(prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
        return try await pager.fill(from: &source) { key, _ in String(decoding: key, as: UTF8.self) }
    }

    @Test("prefix, delimiter, marker and truncation on a small tree")
    func smallTree() async throws {
        let keys = ["a/1", "a/2", "b", "c/x/1", "c/y", "d"]
        let all = try await page(keys, delimiter: "/")
        #expect(all.entries == ["b", "d"])
        #expect(all.commonPrefixes == ["a/", "c/"])
        #expect(!all.isTruncated && all.nextMarker == nil)

        let first = try await page(keys, delimiter: "/", maxKeys: 2)
        #expect(first.entries == ["b"] && first.commonPrefixes == ["a/"])
        #expect(first.isTruncated && first.nextMarker == "b")

        // A marker inside a common prefix: that prefix was returned already.
        let after = try await page(keys, delimiter: "/", marker: "a/1")
        #expect(after.commonPrefixes == ["c/"] && after.entries == ["b", "d"])

        let nested = try await page(keys, prefix: "c/", delimiter: "/")
        #expect(nested.commonPrefixes == ["c/x/"] && nested.entries == ["c/y"])
        #expect(try await page(keys, maxKeys: 0).entries.isEmpty)
        #expect(try await page(keys, prefix: "z").entries.isEmpty)
    }

    @Test("a common prefix is skipped with one seek, however many keys it hides")
    func rollUpSeeks() async throws {
        var source = ArraySource((0..<500).map { "logs/\($0)" } + ["m", "z"])
        var pager = ListingPager<String>(prefix: "", delimiter: "/", marker: nil, maxKeys: 10)
        let result = try await pager.fill(from: &source) { key, _ in String(decoding: key, as: UTF8.self) }
        #expect(result.commonPrefixes == ["logs/"] && result.entries == ["m", "z"])
        #expect(source.seeks == 2)   // the start, and past "logs/"
    }

    @Test("agrees with S3's rules written out, on 3,000 seeded random cases")
    func randomAgainstReference() async throws {
        var random = SplitMix(state: 20261203)
        let alphabet = ["a", "b", "/", "é", "ab", "-"]
        for _ in 0..<3000 {
            func word(_ limit: Int) -> String { (0..<Int.random(in: 0...limit, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined() }
            let keys = (0..<Int.random(in: 0...25, using: &random)).map { _ in word(5) }.filter { !$0.isEmpty }
            let prefix = Bool.random(using: &random) ? "" : word(2)
            let delimiter = [nil, "/", "b", "é", "ab"].randomElement(using: &random)!
            let marker: String? = Bool.random(using: &random) ? nil : (Bool.random(using: &random) ? keys.randomElement(using: &random) : word(4))
            let maxKeys = Int.random(in: 0...8, using: &random)
            let got = try await page(keys, prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
            let expected = reference(keys, prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
            #expect(got.entries == expected.entries && got.commonPrefixes == expected.prefixes
                    && got.isTruncated == expected.truncated && got.nextMarker == expected.next,
                    "keys \(keys) prefix \(prefix) delimiter \(delimiter ?? "-") marker \(marker ?? "-") max \(maxKeys)")
        }
    }

    @Test("paging with nextMarker walks every item exactly once")
    func pagingCoversEverything() async throws {
        let keys = (0..<40).map { "k\($0 % 7)/\($0)" } + (0..<20).map { "top\($0)" }
        let whole = try await page(keys, delimiter: "/")
        var seen: [String] = []
        var marker: String?
        repeat {
            let next = try await page(keys, delimiter: "/", marker: marker, maxKeys: 3)
            seen += next.entries + next.commonPrefixes
            marker = next.nextMarker
        } while marker != nil
        #expect(seen.sorted() == (whole.entries + whole.commonPrefixes).sorted())
    }

    @Test("max-keys=0 is an empty page that is not truncated")
    func zeroKeys() async throws {
        let empty = try await page(["a", "b"], maxKeys: 0)
        #expect(empty.entries.isEmpty && empty.commonPrefixes.isEmpty && !empty.isTruncated && empty.nextMarker == nil)
    }

    @Test("a source that cannot seek gets the same page: keys under an emitted prefix are skipped as they come")
    func nonSeekingSource() async throws {
        let keys = ["a/1", "a/2", "a/3", "b", "c/1", "d"].map { Array($0.utf8) }
        var pager = ListingPager<String>(prefix: "", delimiter: "/", marker: nil, maxKeys: 3)
        for key in keys where pager.offer(key, entry: { String(decoding: key, as: UTF8.self) }) == .done { break }
        let result = pager.page
        #expect(result.commonPrefixes == ["a/", "c/"] && result.entries == ["b"])
        #expect(result.isTruncated && result.nextMarker == "c/" && result.endsWithCommonPrefix && result.lastEntry == nil)
    }

    @Test("uploads: with an upload-id marker the marker's key is listed again (its later uploads), and the next upload-id marker follows the last upload")
    func uploadMarkers() async throws {
        func upload(_ key: String, _ id: String) -> MultipartUploadInfo {
            MultipartUploadInfo(key: key, uploadID: id, initiated: S3Timestamp(millisecondsSinceEpoch: 0), ownerID: "o", storageClass: "STANDARD")
        }
        // Sorted by key, then upload id; the caller already dropped uploads at or before the marker.
        let rows = [upload("k", "2"), upload("k", "3"), upload("m", "1")]
        var inclusive = ListingPager<MultipartUploadInfo>(prefix: "", delimiter: nil, marker: "k", maxKeys: 2, markerInclusive: true)
        for row in rows where inclusive.offer(Array(row.key.utf8), entry: { row }) == .done { break }
        let page = ListUploadsPage(inclusive.page)
        #expect(page.uploads.map(\.uploadID) == ["2", "3"])
        #expect(page.isTruncated && page.nextKeyMarker == "k" && page.nextUploadIDMarker == "3")

        var exclusive = ListingPager<MultipartUploadInfo>(prefix: "", delimiter: nil, marker: "k", maxKeys: 5)
        for row in rows where exclusive.offer(Array(row.key.utf8), entry: { row }) == .done { break }
        #expect(exclusive.page.entries.map(\.key) == ["m"], "without the upload-id marker the marker's key is done")
    }

    @Test("the merged cursor yields each key once with every source that has it")
    func mergedCursor() async throws {
        var merged = MergedKeyCursor([ArraySource(["a", "c", "e"]), ArraySource(["b", "c"]), ArraySource([]), ArraySource(["a", "e", "f"])])
        var groups: [String] = []
        while let (key, copies) = try await merged.next() {
            groups.append(String(decoding: key, as: UTF8.self) + ":" + copies.map { "\($0.source)" }.joined(separator: ","))
        }
        #expect(groups == ["a:0,3", "b:1", "c:0,1", "e:0,3", "f:3"])

        var seeking = MergedKeyCursor([ArraySource(["a", "c", "e"]), ArraySource(["b", "d"])])
        _ = try await seeking.next()                          // "a"
        try await seeking.seek(.after(Array("c".utf8)))
        #expect(try await seeking.next().map { String(decoding: $0.key, as: UTF8.self) } == "d")
    }

    @Test("a pager over merged sources lists their union")
    func pagerOverMerge() async throws {
        let a = ["x/1", "x/2", "y", "q"], b = ["x/3", "p", "y"]
        var merged = MergedKeyCursor([ArraySource(a), ArraySource(b)])
        var pager = ListingPager<String>(prefix: "", delimiter: "/", marker: nil, maxKeys: 100)
        let result = try await pager.fill(from: &merged) { key, copies in "\(String(decoding: key, as: UTF8.self))×\(copies.count)" }
        #expect(result.entries == ["p×1", "q×1", "y×2"] && result.commonPrefixes == ["x/"])
    }
}

@Suite("Bucket configuration cache")
struct BucketConfigurationCacheTests {
    actor Loads {
        var count = 0
        func next() -> Int { count += 1; return count }
    }

    @Test("served while the bucket's configuration version holds; reloaded when it moves or the bucket is recreated")
    func versioned() async throws {
        let cache = BucketConfigurationCache<Int>()
        let loads = Loads()
        let bucket = BucketInfo(name: "b", creationDate: S3Timestamp(millisecondsSinceEpoch: 1000), ownerID: "o", region: "r", configurationVersion: 7)
        #expect(await cache.value(for: bucket) { await loads.next() } == 1)
        #expect(await cache.value(for: bucket) { await loads.next() } == 1)
        var changed = bucket
        changed.configurationVersion = 8
        #expect(await cache.value(for: changed) { await loads.next() } == 2)
        var recreated = changed
        recreated.creationDate = S3Timestamp(millisecondsSinceEpoch: 2000)
        #expect(await cache.value(for: recreated) { await loads.next() } == 3)
        var otherOwner = recreated
        otherOwner.ownerID = "p"
        #expect(await cache.value(for: otherOwner) { await loads.next() } == 4)
    }

    @Test("a load of an older version never replaces a newer entry")
    func olderNeverWins() async throws {
        let cache = BucketConfigurationCache<String>()
        let old = BucketInfo(name: "b", creationDate: S3Timestamp(millisecondsSinceEpoch: 1), ownerID: "o", region: "r", configurationVersion: 1)
        var new = old
        new.configurationVersion = 2
        #expect(await cache.value(for: new) { "new" } == "new")
        #expect(await cache.value(for: old) { "old" } == "old")
        #expect(await cache.value(for: new) { "reloaded" } == "new")
    }
}
