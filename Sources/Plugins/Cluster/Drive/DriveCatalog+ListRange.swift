import Foundation
import GRDB
import StowageCore
import StowageSQLiteIndex

extension DriveCatalog {
    /// The acceptor's `listRange` verb: rows under `request.scope` whose key starts with
    /// `request.prefix` and sorts after `request.after`, in byte order, from committed state.
    /// One range seek: the prefix bounds the scan on both sides. With a delimiter, each key
    /// that rolls up into a common prefix is followed by a seek past that prefix, all in one
    /// snapshot (a delimiter listing wants one key per common prefix, not all of them).
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
        if let delimiter = request.delimiter, !delimiter.isEmpty {
            return try groupedRange(request, from: lower, inclusive: inclusive, upper: upper, limit: limit)
        }
        var sql = "SELECT \(Self.columns(request)) FROM registers WHERE scope = ? AND key \(inclusive ? ">=" : ">") ? "
        var arguments: [SQLitePointReader.Argument] = [.blob(request.scope), .blob(lower)]
        if let upper {
            sql += "AND key < ? "
            arguments.append(.blob(upper))
        }
        sql += "AND ballot IS NOT NULL ORDER BY key LIMIT ?"
        arguments.append(.int(Int64(limit)))
        // On the catalog's own read connection, by column index: a page of a thousand rows
        // through GRDB's named-column rows cost more than the rest of a listing.
        let values = request.values
        var rows: [ListedRow] = []
        rows.reserveCapacity(limit)
        var scanned = 0
        var corrupt: [UInt8]?
        try points.forEach(sql, arguments) { row in
            scanned += 1
            let (key, listed) = Self.listedRow(row, values: values)
            if let listed { rows.append(listed) } else if corrupt == nil { corrupt = key }
        }
        if let corrupt { throw CorruptRow(key: RegisterKey(scope: request.scope, key: corrupt)) }
        return .rows(rows, complete: scanned < limit)
    }

    /// Up to `limit` rows, each the first at or after the position, the position moving past
    /// a row's common prefix (or just past a key that has none).
    private func groupedRange(
        _ request: ListRangeRequest, from lower: [UInt8], inclusive: Bool, upper: [UInt8]?, limit: Int
    ) throws -> ListRangeReply {
        let bound = upper.map { _ in "AND key < ? " } ?? ""
        let columns = Self.columns(request), values = request.values
        let atOrAfter = "SELECT \(columns) FROM registers WHERE scope = ? AND key >= ? \(bound)AND ballot IS NOT NULL ORDER BY key LIMIT 1"
        let after = "SELECT \(columns) FROM registers WHERE scope = ? AND key > ? \(bound)AND ballot IS NOT NULL ORDER BY key LIMIT 1"
        let (rows, complete) = try points.inOneSnapshot { snapshot in
            var rows: [(key: [UInt8], row: ListedRow?)] = []
            var position = lower, including = inclusive
            while rows.count < limit {
                var arguments: [SQLitePointReader.Argument] = [.blob(request.scope), .blob(position)]
                if let upper { arguments.append(.blob(upper)) }
                guard let found = try snapshot.row(including ? atOrAfter : after, arguments, { Self.listedRow($0, values: values) }) else {
                    return (rows, true)
                }
                rows.append(found)
                if let end = request.groupEnd(of: found.key) {
                    guard let next = KeyBytes.successor(of: Array(found.key[..<end])) else { return (rows, true) }
                    (position, including) = (next, true)
                } else {
                    (position, including) = (found.key, false)
                }
            }
            return (rows, false)
        }
        return .rows(try Self.checked(rows, scope: request.scope), complete: complete)
    }

    /// Without values, the payload and data ref are not read at all.
    private static func columns(_ request: ListRangeRequest) -> String {
        "key, ballot, write_id, chosen, tomb" + (request.values ? ", value, data_ref" : "")
    }

    /// The ballot and write ID decoded in SQLite's buffers: a listing reads thousands of rows.
    private static func listedRow(_ row: SQLitePointReader.Row, values: Bool) -> (key: [UInt8], row: ListedRow?) {
        let key = row.blob(0) ?? []
        guard let ballot = row.withBlob(1, { Ballot(raw: $0) }), let writeID = row.withBlob(2, { WriteID(raw: $0) }) else { return (key, nil) }
        let value = RegisterValue(
            writeID: writeID, tombstone: row.int(4) != 0, payload: values ? row.blob(5) ?? [] : [], dataRef: values ? row.blob(6) ?? [] : [])
        return (key, ListedRow(key: key, accepted: AcceptedValue(ballot: ballot, value: value), chosen: row.int(3) != 0, hasValue: values))
    }

    private static func checked(_ rows: [(key: [UInt8], row: ListedRow?)], scope: [UInt8]) throws -> [ListedRow] {
        if let corrupt = rows.first(where: { $0.row == nil }) {
            throw CorruptRow(key: RegisterKey(scope: scope, key: corrupt.key))
        }
        return rows.compactMap(\.row)
    }
}
