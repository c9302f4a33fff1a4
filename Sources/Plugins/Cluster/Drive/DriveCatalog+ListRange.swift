import Foundation
import GRDB
import StowageCore

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
        var arguments: [any DatabaseValueConvertible] = [Data(request.scope), Data(lower)]
        if let upper {
            sql += "AND key < ? "
            arguments.append(Data(upper))
        }
        sql += "AND ballot IS NOT NULL ORDER BY key LIMIT ?"
        arguments.append(limit)
        let rows = try pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments)).map { row -> ListedRow in
                let key = Array(row["key"] as Data)
                guard let ballot = Ballot(bytes: row["ballot"] as Data? ?? Data()),
                      let writeID = WriteID(bytes: row["write_id"] as Data? ?? Data())
                else { throw CorruptRow(key: RegisterKey(scope: request.scope, key: key)) }
                let value = RegisterValue(
                    writeID: writeID, tombstone: row["tomb"] as Bool, payload: Array(row["value"] as Data? ?? Data()),
                    dataRef: Array(row["data_ref"] as Data? ?? Data()))
                return ListedRow(key: key, accepted: AcceptedValue(ballot: ballot, value: value), chosen: row["chosen"] as Bool)
            }
        }
        return .rows(rows, complete: rows.count < limit)
    }
}
