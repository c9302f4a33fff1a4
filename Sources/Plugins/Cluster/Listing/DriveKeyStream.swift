import StowageCore

/// One drive's rows under a scope and prefix, in key order, fetched a page at a time with
/// the `listRange` verb (CLUSTER.md §5: streams are per drive). Seeking drops what was
/// fetched before the new position and fetches from it. A drive that does not answer, or
/// answers as a learner, makes `next` throw: it covers nothing, and the set decides whether
/// the drives that did answer are enough.
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
    /// The next fetch's size: small right after a seek (a delimiter listing seeks past each
    /// common prefix and wants one key after it, not a thousand), doubling while the stream
    /// reads on.
    private var limit: Int
    private var rows: [ListedRow] = []
    private var index = 0
    /// Where the next fetch starts (nil: the start of the prefix).
    private var from: ListingPosition?
    private var complete = false

    init(replica: any RegisterReplica, scope: [UInt8], prefix: [UInt8], pageSize: Int = 1_000) {
        self.replica = replica
        self.scope = scope
        self.prefix = prefix
        self.pageSize = pageSize
        limit = pageSize
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
        return rows[index]
    }

    mutating func seek(_ position: ListingPosition) {
        while index < rows.count, !position.admits(rows[index].key) { index += 1 }
        guard index == rows.count else { return }
        // Past everything fetched: the next fetch starts at the position (unless the drive
        // already said it has nothing more).
        // The first seek (where the listing opens) keeps full pages.
        if from != nil { limit = min(pageSize, 4) }
        from = position
    }

    private mutating func fetch() async throws {
        var request = ListRangeRequest(scope: scope, prefix: prefix, limit: limit)
        limit = min(pageSize, limit * 2)
        switch from {
        case .atOrAfter(let key)?: request.after = key; request.inclusive = true
        case .after(let key)?: request.after = key
        case nil: break
        }
        guard case .rows(let page, let done)? = await replica.listRange(request) else { throw Silent() }
        rows = page
        index = 0
        complete = done
        if let last = page.last { from = .after(last.key) }
    }
}
