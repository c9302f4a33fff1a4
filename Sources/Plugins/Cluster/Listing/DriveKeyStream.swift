import StowageCore

/// One drive's rows under a scope and prefix, in key order, fetched a page at a time with
/// the `listRange` verb (CLUSTER.md §5: streams are per drive). Seeking drops what was
/// fetched before the new position and fetches from it. A drive that does not answer, or
/// answers as a learner, makes `next` throw: it covers nothing, and the set decides whether
/// the drives that did answer are enough.
///
/// With a delimiter the drive answers one key per common prefix (``ListRangeRequest/delimiter``):
/// a row that ``lastSkippedRest`` marks stands for its whole common prefix on this drive, and
/// the stream then covers none of that prefix's later keys. The set knows when it needs them
/// (the row's value is dead) and asks for them with ``resumeUngrouped(after:)``.
///
/// ```swift
/// var stream = DriveKeyStream(replica: replica, scope: bucketID, prefix: Array("photos/".utf8))
/// try await stream.seek(.atOrAfter(Array("photos/2024".utf8)))
/// while let row = try await stream.next() { print(row.key, row.accepted.ballot) }
/// ```
struct DriveKeyStream: Sendable {
    struct Silent: Error {}

    let replica: any RegisterReplica
    let scope: [UInt8]
    let prefix: [UInt8]
    let pageSize: Int
    let delimiter: [UInt8]?
    /// Rows come with their values' payloads (``ListRangeRequest/values``).
    var values = true
    /// Fetches skip the rest of each common prefix (the delimiter given, and no
    /// ``resumeUngrouped(after:)`` since the last seek).
    private var grouping: Bool
    /// The buffered page was fetched grouping.
    private var pageGrouped = false
    /// The row `next` returned last stands for the rest of its common prefix too.
    private(set) var lastSkippedRest = false
    /// That common prefix, while it does.
    private(set) var lastSkippedGroup: [UInt8]?
    /// The next fetch's size: small right after a seek (a delimiter listing seeks past each
    /// common prefix and wants one key after it, not a thousand), doubling while the stream
    /// reads on.
    private var limit: Int
    private var rows: [ListedRow] = []
    private var index = 0
    /// Where the next fetch starts (nil: the start of the prefix).
    private var from: ListingPosition?
    private var complete = false

    init(replica: any RegisterReplica, scope: [UInt8], prefix: [UInt8], pageSize: Int = 1_000, delimiter: [UInt8]? = nil) {
        self.replica = replica
        self.scope = scope
        self.prefix = prefix
        self.pageSize = pageSize
        self.delimiter = delimiter.flatMap { $0.isEmpty ? nil : $0 }
        grouping = self.delimiter != nil
        limit = pageSize
    }

    /// Where the common prefix of `key` ends, under the delimiter (nil: none).
    private func groupEnd(of key: [UInt8]) -> Int? {
        delimiter.flatMap { KeyBytes.endOfFirst($0, in: key, from: prefix.count) }
    }

    /// Whether `next` must wait on another node (nothing fetched is left, the drive has
    /// more, and it is not a catalog of this process, which answers in microseconds).
    var needsFetch: Bool { index == rows.count && !complete && !replica.listsInPlace }

    /// The next row; nil once the drive has no more under the prefix.
    mutating func next() async throws -> ListedRow? {
        while index == rows.count {
            guard !complete else { return nil }
            try await fetch()
        }
        defer { index += 1 }
        let end = pageGrouped ? groupEnd(of: rows[index].key) : nil
        lastSkippedRest = end != nil
        lastSkippedGroup = end.map { Array(rows[index].key[..<$0]) }
        return rows[index]
    }

    /// Every row after `key`, the rest of its common prefix included, until the next seek:
    /// the set found `key` (a row that stood for its common prefix) dead and needs the
    /// prefix's later keys after all.
    mutating func resumeUngrouped(after key: [UInt8]) {
        rows = []
        index = 0
        complete = false
        grouping = false
        lastSkippedGroup = nil
        from = .after(key)
        limit = min(pageSize, 16)
    }

    /// Drops what was fetched and reads on from `position` (a seek into a common prefix this
    /// stream skipped part of).
    mutating func reopen(at position: ListingPosition) {
        rows = []
        index = 0
        complete = false
        grouping = delimiter != nil
        lastSkippedGroup = nil
        from = position
    }

    mutating func seek(_ position: ListingPosition) {
        // Into the prefix the last row stood for: what was fetched after it skipped keys the
        // position wants.
        if let group = lastSkippedGroup, position.key.starts(with: group) {
            reopen(at: position)
            return
        }
        grouping = delimiter != nil
        while index < rows.count, !position.admits(rows[index].key) { index += 1 }
        guard index == rows.count else { return }
        // Past everything fetched: the next fetch starts at the position (unless the drive
        // already said it has nothing more).
        // The first seek (where the listing opens) keeps full pages, and so does a grouped
        // stream (its rows are a common prefix each).
        if from != nil && !grouping { limit = min(pageSize, 4) }
        from = position
    }

    private mutating func fetch() async throws {
        var request = ListRangeRequest(scope: scope, prefix: prefix, limit: limit, delimiter: grouping ? delimiter : nil, values: values)
        limit = min(pageSize, limit * 2)
        switch from {
        case .atOrAfter(let key)?: request.after = key; request.inclusive = true
        case .after(let key)?: request.after = key
        case nil: break
        }
        guard case .rows(let page, let done)? = await replica.listRange(request) else { throw Silent() }
        rows = page
        // The wire does not say; this stream knows what it asked for.
        if !values { for row in rows.indices { rows[row].hasValue = false } }
        index = 0
        complete = done
        pageGrouped = grouping
        guard let last = page.last else { return }
        if grouping, let end = groupEnd(of: last.key) {
            // The drive went on past the last row's common prefix; so does the next fetch.
            guard let next = KeyBytes.successor(of: Array(last.key[..<end])) else {
                complete = true
                return
            }
            from = .atOrAfter(next)
        } else {
            from = .after(last.key)
        }
    }
}
