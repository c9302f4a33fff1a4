/// A source of keys in UTF-8 byte order with a value each (an index cursor, one drive's listing
/// stream), that can jump forward. ``ListingPager`` pages over one; ``MergedKeyCursor`` merges
/// several into one.
public protocol OrderedKeySource {
    associatedtype Value
    /// The next key at or after the last seek, in byte order; `nil` at the end.
    mutating func next() async throws -> (key: [UInt8], value: Value)?
    /// Continues from `position`; the next key returned is the first it admits.
    mutating func seek(_ position: ListingPosition) async throws
}

/// Merges ordered key sources (one per drive or node) into one ordered source that yields each
/// key once, with the value of every source that has it: listing across drives and nodes
/// groups a key's replicas this way before a read rule decides what the key is.
///
/// Sources are compared linearly at each step: merges are as wide as an erasure set (a few to
/// sixteen drives), where a heap would cost more than it saves.
///
/// ```swift
/// var merged = MergedKeyCursor([driveA, driveB, driveC])
/// try await merged.seek(.atOrAfter(Array("photos/".utf8)))
/// while let (key, copies) = try await merged.next() {
///     print(String(decoding: key, as: UTF8.self), copies.map(\.source))   // "photos/a.jpg" [0, 2]
/// }
/// ```
public struct MergedKeyCursor<Source: OrderedKeySource>: OrderedKeySource {
    public typealias Value = [(source: Int, value: Source.Value)]

    // Inlinable: it runs per key of a listing, specialized in the backend's module.
    @usableFromInline var sources: [Source]
    @usableFromInline var heads: [(key: [UInt8], value: Source.Value)?]
    @usableFromInline var exhausted: [Bool]

    @inlinable
    public init(_ sources: [Source]) {
        self.sources = sources
        self.heads = Array(repeating: nil, count: sources.count)
        self.exhausted = Array(repeating: false, count: sources.count)
    }

    @inlinable
    public mutating func next() async throws -> (key: [UInt8], value: Value)? {
        for index in sources.indices where heads[index] == nil && !exhausted[index] {
            if let head = try await sources[index].next() { heads[index] = head } else { exhausted[index] = true }
        }
        var smallest: [UInt8]?
        for head in heads {
            guard let head else { continue }
            if smallest.map({ head.key.lexicographicallyPrecedes($0) }) ?? true { smallest = head.key }
        }
        guard let smallest else { return nil }
        var copies: Value = []
        for index in heads.indices {
            if let head = heads[index], head.key == smallest {
                copies.append((index, head.value))
                heads[index] = nil
            }
        }
        return (smallest, copies)
    }

    @inlinable
    public mutating func seek(_ position: ListingPosition) async throws {
        for index in sources.indices {
            if let head = heads[index], position.admits(head.key) { continue }
            heads[index] = nil
            // A source that ran out stays out: positions only move forward in a listing.
            if !exhausted[index] { try await sources[index].seek(position) }
        }
    }
}

extension ListingPager {
    /// Reads one page from `source`: seeks it to ``start``, offers keys until the page is done
    /// or the source runs out, following the pager's seeks.
    @inlinable
    public mutating func fill<Source: OrderedKeySource>(
        from source: inout Source, entry: ([UInt8], Source.Value) throws -> Entry
    ) async throws -> Page {
        guard let start else { return page }
        try await source.seek(start)
        while let (key, value) = try await source.next() {
            switch try offer(key, entry: { try entry(key, value) }) {
            case .next: continue
            case .seek(let position): try await source.seek(position)
            case .done: return page
            }
        }
        return page
    }
}
