import Foundation
public import GRDB
public import StowageCore

/// A listing page over a table whose keys are BLOBs (SQLite orders them by bytes: the UTF-8
/// byte order S3 lists in), driven by Core's `ListingPager`: rows stream lazily from the
/// pager's position, and a roll-up into a common prefix starts a new scan past it (a skip
/// scan), so a page costs about one index seek per entry however many keys a prefix hides.
///
/// ```swift
/// let scan = KeysetScan(table: "objects", key: "key", columns: "size, etag", scope: "bucket_id = ?", scopeArguments: [bucketID])
/// var pager = ListingPager<ObjectInfo>(prefix: "a/", delimiter: "/", marker: nil, maxKeys: 1000)
/// let page = try scan.page(db, pager: &pager) { key, row in makeInfo(key, row) }
/// ```
public struct KeysetScan: Sendable {
    public let table: String
    public let key: String
    /// Selected after the key: the entry's row has the key at index 0, these from index 1.
    public let columns: String
    /// A filter on the rows scanned (`bucket_id = ?`), with its arguments.
    public let scope: String
    public let scopeArguments: StatementArguments

    public init(table: String, key: String, columns: String, scope: String, scopeArguments: StatementArguments) {
        self.table = table
        self.key = key
        self.columns = columns
        self.scope = scope
        self.scopeArguments = scopeArguments
    }

    /// Fills `pager` from the table and returns its page.
    public func page<Entry>(_ db: Database, pager: inout ListingPager<Entry>, entry: ([UInt8], Row) throws -> Entry) throws -> ListingPager<Entry>.Page {
        guard var position = pager.start else { return pager.page }
        scan: while true {
            let rows = try cursor(db, from: position, upper: pager.upperBound)
            while let row = try rows.next() {
                let keyBytes = [UInt8](row[0] as Data)
                switch try pager.offer(keyBytes, entry: { try entry(keyBytes, row) }) {
                case .next: continue
                case .seek(let next): position = next; continue scan
                case .done: break scan
                }
            }
            break
        }
        return pager.page
    }

    /// Rows from `position` on, in key order, produced lazily by SQLite.
    private func cursor(_ db: Database, from position: ListingPosition, upper: [UInt8]?) throws -> RowCursor {
        let comparison = if case .atOrAfter = position { ">=" } else { ">" }
        let bound = upper == nil ? "" : " AND \(key) < ?"
        let statement = try db.cachedStatement(sql: """
            SELECT \(key), \(columns) FROM \(table) WHERE \(scope) AND \(key) \(comparison) ?\(bound) ORDER BY \(key)
            """)
        var arguments = scopeArguments
        arguments += [Data(position.key)]
        if let upper { arguments += [Data(upper)] }
        return try Row.fetchCursor(statement, arguments: arguments)
    }
}
