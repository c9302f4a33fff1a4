import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex

extension DriveCatalog {
    /// The acceptor's `listRange` verb: rows under `request.scope` whose key starts with
    /// `request.prefix` and sorts after `request.after`, in byte order, from committed state.
    /// One range seek: the prefix bounds the scan on both sides.
    public func listRange(_ request: ListRangeRequest, isVoter: Bool) throws -> ListRangeReply {
        guard isVoter else { return .notVoter }
        let limit = max(1, min(request.limit, 10_000))
        var lower = request.prefix
        var inclusive = true
        if let after = request.after, after.lexicographicallyPrecedes(lower) == false {
            lower = after
            inclusive = request.inclusive
        }
        let upper = KeyBytes.successor(of: request.prefix)
        var sql = "SELECT key, ballot, write_id, chosen, tomb, value, data_ref FROM registers WHERE scope = ? AND key \(inclusive ? ">=" : ">") ? "
        var arguments: [SQLitePointReader.Argument] = [.blob(request.scope), .blob(lower)]
        if let upper {
            sql += "AND key < ? "
            arguments.append(.blob(upper))
        }
        sql += "AND ballot IS NOT NULL ORDER BY key LIMIT ?"
        arguments.append(.int(Int64(limit)))
        // On the catalog's own read connection, by column index: a page of a thousand rows
        // through GRDB's named-column rows cost more than the rest of a listing.
        let rows = try points.rows(sql, arguments) { row -> (key: [UInt8], row: ListedRow?) in
            let key = row.blob(0) ?? []
            guard let ballot = Ballot(bytes: row.blob(1) ?? []), let writeID = WriteID(bytes: row.blob(2) ?? []) else { return (key, nil) }
            let value = RegisterValue(writeID: writeID, tombstone: row.int(4) != 0, payload: row.blob(5) ?? [], dataRef: row.blob(6) ?? [])
            return (key, ListedRow(key: key, accepted: AcceptedValue(ballot: ballot, value: value), chosen: row.int(3) != 0))
        }
        if let corrupt = rows.first(where: { $0.row == nil }) {
            throw CorruptRow(key: RegisterKey(scope: request.scope, key: corrupt.key))
        }
        return .rows(rows.compactMap(\.row), complete: rows.count < limit)
    }
}
