/// Where a key source starts, or restarts, reading.
public enum ListingPosition: Sendable, Hashable {
    /// At `key` if present, else the first key after it.
    case atOrAfter([UInt8])
    /// The first key strictly after `key`.
    case after([UInt8])

    public var key: [UInt8] {
        switch self {
        case .atOrAfter(let key), .after(let key): return key
        }
    }

    /// Whether `key` lies at or past this position.
    public func admits(_ key: [UInt8]) -> Bool {
        switch self {
        case .atOrAfter(let start): return !key.lexicographicallyPrecedes(start)
        case .after(let start): return start.lexicographicallyPrecedes(key)
        }
    }
}

/// One page of an S3 listing (ListObjects, ListMultipartUploads, and the cluster's merged
/// listings) over any source that yields keys in UTF-8 byte order: the prefix, the delimiter's
/// roll-up into common prefixes, the marker (a marker inside a common prefix means that prefix
/// was returned already), `maxKeys` and `IsTruncated`.
///
/// It does no I/O: the caller opens its source at ``start``, offers each key in order, and
/// obeys the answer. `.seek` asks the source to jump past a common prefix (a source that cannot
/// seek just goes on: keys under the prefix are answered with `.seek` again and never emitted);
/// `.done` ends the page. When the source runs out, the page is complete and not truncated.
///
/// ```swift
/// var pager = ListingPager<String>(prefix: "photos/", delimiter: "/", marker: nil, maxKeys: 1000)
/// var position = pager.start
/// read: while let current = position {
///     position = nil
///     for key in keys(from: current) {                  // the source, in byte order
///         switch pager.offer(key, entry: { String(decoding: key, as: UTF8.self) }) {
///         case .next: continue
///         case .seek(let next): position = next; continue read
///         case .done: break read
///         }
///     }
/// }
/// let page = pager.page
/// ```
public struct ListingPager<Entry> {
    /// What the source does next.
    public enum Step: Equatable {
        case next
        case seek(ListingPosition)
        case done
    }

    /// A finished page. `nextMarker` is set only when truncated: the last key or common prefix.
    public struct Page {
        public var entries: [Entry]
        public var commonPrefixes: [String]
        public var isTruncated: Bool
        public var nextMarker: String?
        /// Whether the page's last item is a common prefix (ListMultipartUploads then gives no
        /// `NextUploadIdMarker`).
        public var endsWithCommonPrefix: Bool
        public var lastEntry: Entry? { endsWithCommonPrefix ? nil : entries.last }
    }

    public let prefix: [UInt8]
    public let delimiter: [UInt8]?
    public let maxKeys: Int
    /// The first key past every key with the prefix; sources may stop before it (`nil`: no bound).
    public let upperBound: [UInt8]?
    /// Where the source opens; `nil` when the page is empty without reading anything.
    public let start: ListingPosition?

    // Internal and inlinable (as `offer` is): a listing calls `offer` per key, and a backend
    // in another module runs it specialized to its entry type rather than through generic
    // witnesses.
    @usableFromInline var entries: [Entry] = []
    @usableFromInline var prefixes: [String] = []
    /// The last key or common prefix, decoded only when a page needs it.
    @usableFromInline var last: [UInt8]?
    @usableFromInline var lastWasPrefix = false
    /// The common prefix most recently emitted: keys under it are skipped.
    @usableFromInline var rolledUp: [UInt8]?
    @usableFromInline var truncated = false
    @usableFromInline var finished = false

    /// - Parameters:
    ///   - marker: ListObjects' `marker`/`start-after`/continuation key, or ListMultipartUploads'
    ///     `key-marker`.
    ///   - markerInclusive: start at the marker's key rather than after it (ListMultipartUploads
    ///     with an `upload-id-marker`, whose source filters the marker key's uploads itself).
    public init(prefix: String, delimiter: String?, marker: String?, maxKeys: Int, markerInclusive: Bool = false) {
        let prefix = Array(prefix.utf8)
        let delimiter = delimiter.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
        self.prefix = prefix
        self.delimiter = delimiter
        self.maxKeys = max(0, maxKeys)
        self.upperBound = KeyBytes.successor(of: prefix)

        var start = ListingPosition.atOrAfter(prefix)
        var rolledUp: [UInt8]?
        // A marker before the prefix changes nothing; one at or past it starts from it.
        if let marker = marker.map({ Array($0.utf8) }), !marker.lexicographicallyPrecedes(prefix) {
            start = markerInclusive ? .atOrAfter(marker) : .after(marker)
            if let delimiter, marker.starts(with: prefix), let end = KeyBytes.endOfFirst(delimiter, in: marker, from: prefix.count) {
                let common = Array(marker[..<end])
                rolledUp = common
                if let next = KeyBytes.successor(of: common) { start = .atOrAfter(next) } else { start = .atOrAfter([]); self.finished = true }
            }
        }
        self.rolledUp = rolledUp
        if let upperBound, !start.key.lexicographicallyPrecedes(upperBound) { finished = true }
        if self.maxKeys == 0 { finished = true }
        self.start = finished ? nil : start
    }

    /// Offers the source's next key; `entry` is made only if the key is emitted as an entry.
    @inlinable
    public mutating func offer(_ key: [UInt8], entry: () throws -> Entry) rethrows -> Step {
        if finished { return .done }
        guard key.starts(with: prefix) else {
            // Past the prefix's keys (they are contiguous in byte order), or before them: a
            // source that ignores `start` is not at fault for what it offers before it.
            if let upperBound, !key.lexicographicallyPrecedes(upperBound) { return finish() }
            return start.map { .seek($0) } ?? .done
        }
        if let start, !start.admits(key) { return .next }
        if let rolledUp, key.starts(with: rolledUp) {
            return KeyBytes.successor(of: rolledUp).map { .seek(.atOrAfter($0)) } ?? finish()
        }
        if entries.count + prefixes.count == maxKeys {
            truncated = true
            return finish()
        }
        if let delimiter, let end = KeyBytes.endOfFirst(delimiter, in: key, from: prefix.count) {
            let common = Array(key[..<end])
            // A valid UTF-8 delimiter matches only at character boundaries: this decodes losslessly.
            let text = String(decoding: common, as: UTF8.self)
            prefixes.append(text)
            last = common
            lastWasPrefix = true
            rolledUp = common
            return KeyBytes.successor(of: common).map { .seek(.atOrAfter($0)) } ?? finish()
        }
        entries.append(try entry())
        last = key
        lastWasPrefix = false
        return .next
    }

    @inlinable
    mutating func finish() -> Step {
        finished = true
        return .done
    }

    /// The page as it stands: call it after `.done`, or when the source has run out.
    public var page: Page {
        Page(entries: entries, commonPrefixes: prefixes, isTruncated: truncated,
             nextMarker: truncated ? last.map { String(decoding: $0, as: UTF8.self) } : nil,
             endsWithCommonPrefix: lastWasPrefix)
    }
}

extension ListObjectsPage {
    /// The page a ``ListingPager`` of objects produced.
    public init(_ page: ListingPager<ObjectInfo>.Page) {
        self.init(objects: page.entries, commonPrefixes: page.commonPrefixes, isTruncated: page.isTruncated, nextMarker: page.nextMarker)
    }
}

extension ListUploadsPage {
    /// The page a ``ListingPager`` of uploads produced: the upload-id marker is the last
    /// upload's, unless the page ended on a common prefix.
    public init(_ page: ListingPager<MultipartUploadInfo>.Page) {
        self.init(uploads: page.entries, commonPrefixes: page.commonPrefixes, isTruncated: page.isTruncated,
                  nextKeyMarker: page.nextMarker, nextUploadIDMarker: page.isTruncated ? page.lastEntry?.uploadID : nil)
    }
}

extension ListingPager: Sendable where Entry: Sendable {}
extension ListingPager.Page: Sendable where Entry: Sendable {}
