/// The bytes of an acceptor request and reply between nodes: a tag byte, then fixed-width
/// big-endian fields and length-prefixed byte strings. Pure; decoding refuses anything short,
/// long or unknown (`nil`), never traps.
///
/// ```swift
/// let bytes = AcceptorWire.encode(.accept(b, value, carriesData: true), key: key)
/// let (request, key) = AcceptorWire.decodeRequest(bytes)!
/// ```
public enum AcceptorWire {
    public static func encode(_ request: AcceptorRequest, key: RegisterKey) -> [UInt8] {
        var out = Writer()
        out.bytes(key.scope)
        out.bytes(key.key)
        switch request {
        case .prepare(let b): out.byte(1); out.ballot(b)
        case .accept(let b, let v, let carriesData): out.byte(2); out.ballot(b); out.value(v); out.byte(carriesData ? 1 : 0)
        case .commit(let b, let v): out.byte(3); out.ballot(b); out.value(v)
        case .learn(let b, let w): out.byte(4); out.ballot(b); out.writeID(w)
        case .read: out.byte(5)
        }
        return out.buffer
    }

    public static func decodeRequest(_ bytes: [UInt8]) -> (AcceptorRequest, RegisterKey)? {
        var input = Reader(bytes)
        guard let scope = input.bytes(), let key = input.bytes(), let tag = input.byte() else { return nil }
        let request: AcceptorRequest
        switch tag {
        case 1: guard let b = input.ballot() else { return nil }; request = .prepare(b)
        case 2:
            guard let b = input.ballot(), let v = input.value(), let data = input.byte(), data <= 1 else { return nil }
            request = .accept(b, v, carriesData: data == 1)
        case 3: guard let b = input.ballot(), let v = input.value() else { return nil }; request = .commit(b, v)
        case 4: guard let b = input.ballot(), let w = input.writeID() else { return nil }; request = .learn(b, w)
        case 5: request = .read
        default: return nil
        }
        guard input.atEnd else { return nil }
        return (request, RegisterKey(scope: scope, key: key))
    }

    public static func encode(_ reply: AcceptorReply) -> [UInt8] {
        var out = Writer()
        switch reply {
        case .promise(let accepted, let chosen): out.byte(1); out.accepted(accepted); out.byte(chosen ? 1 : 0)
        case .accepted(let voter, let holdsData): out.byte(2); out.byte(voter ? 1 : 0); out.byte(holdsData ? 1 : 0)
        case .rejected(let top, let writeID):
            out.byte(3); out.ballot(top); out.byte(writeID == nil ? 0 : 1)
            if let writeID { out.writeID(writeID) }
        case .clockAhead(let ms): out.byte(4); out.uint64(ms)
        case .noData: out.byte(5)
        case .notVoter: out.byte(6)
        case .learned: out.byte(7)
        case .state(let accepted, let chosen): out.byte(8); out.accepted(accepted); out.byte(chosen ? 1 : 0)
        }
        return out.buffer
    }

    public static func decodeReply(_ bytes: [UInt8]) -> AcceptorReply? {
        var input = Reader(bytes)
        guard let tag = input.byte() else { return nil }
        let reply: AcceptorReply
        switch tag {
        case 1, 8:
            guard let accepted = input.accepted(), let chosen = input.byte(), chosen <= 1 else { return nil }
            reply = tag == 1 ? .promise(accepted: accepted, chosen: chosen == 1) : .state(accepted: accepted, chosen: chosen == 1)
        case 2:
            guard let voter = input.byte(), let data = input.byte(), voter <= 1, data <= 1 else { return nil }
            reply = .accepted(voter: voter == 1, holdsData: data == 1)
        case 3:
            guard let top = input.ballot(), let has = input.byte(), has <= 1 else { return nil }
            var writeID: WriteID?
            if has == 1 { guard let w = input.writeID() else { return nil }; writeID = w }
            reply = .rejected(top: top, writeID: writeID)
        case 4: guard let ms = input.uint64() else { return nil }; reply = .clockAhead(driveMs: ms)
        case 5: reply = .noData
        case 6: reply = .notVoter
        case 7: reply = .learned
        default: return nil
        }
        return input.atEnd ? reply : nil
    }

    // MARK: - listRange

    public static func encode(_ request: ListRangeRequest) -> [UInt8] {
        var out = Writer()
        out.bytes(request.scope)
        out.bytes(request.prefix)
        // 0: from the start of the prefix; 1: after `after`; 2: at or after it.
        out.byte(request.after == nil ? 0 : request.inclusive ? 2 : 1)
        if let after = request.after { out.bytes(after) }
        out.uint64(UInt64(max(0, request.limit)))
        // Absent (an older sender): every row, with values.
        if request.delimiter != nil || !request.values {
            out.bytes(request.delimiter ?? [])
            out.byte(request.values ? 1 : 0)
        }
        return out.buffer
    }

    public static func decodeListRange(_ bytes: [UInt8]) -> ListRangeRequest? {
        var input = Reader(bytes)
        guard let scope = input.bytes(), let prefix = input.bytes(), let has = input.byte(), has <= 2 else { return nil }
        var after: [UInt8]?
        if has >= 1 { guard let a = input.bytes() else { return nil }; after = a }
        guard let limit = input.uint64(), limit <= 1_000_000 else { return nil }
        var delimiter: [UInt8]?
        var values = true
        if !input.atEnd {
            guard let d = input.bytes(), let v = input.byte(), v <= 1, input.atEnd else { return nil }
            (delimiter, values) = (d, v == 1)
        }
        return ListRangeRequest(
            scope: scope, prefix: prefix, after: after, inclusive: has == 2, limit: Int(limit), delimiter: delimiter, values: values)
    }

    public static func encode(_ reply: ListRangeReply) -> [UInt8] {
        var out = Writer()
        switch reply {
        case .notVoter: out.byte(0)
        case .rows(let rows, let complete):
            out.byte(complete ? 2 : 1)
            out.uint64(UInt64(rows.count))
            for row in rows {
                out.bytes(row.key)
                out.accepted(row.accepted)
                out.byte(row.chosen ? 1 : 0)
            }
        }
        return out.buffer
    }

    public static func decodeListRangeReply(_ bytes: [UInt8]) -> ListRangeReply? {
        var input = Reader(bytes)
        guard let tag = input.byte(), tag <= 2 else { return nil }
        guard tag != 0 else { return input.atEnd ? .notVoter : nil }
        // Every row takes at least 45 bytes: a count beyond that is a lie, not an allocation.
        guard let count = input.uint64(), count <= UInt64(bytes.count / 45) else { return nil }
        var rows: [ListedRow] = []
        for _ in 0..<count {
            guard let key = input.bytes(), let accepted = input.accepted(), let value = accepted,
                  let chosen = input.byte(), chosen <= 1 else { return nil }
            rows.append(ListedRow(key: key, accepted: value, chosen: chosen == 1))
        }
        return input.atEnd ? .rows(rows, complete: tag == 2) : nil
    }

    // MARK: - Fields

    struct Writer {
        var buffer: [UInt8] = []
        mutating func byte(_ b: UInt8) { buffer.append(b) }
        mutating func uint64(_ v: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
        mutating func bytes(_ b: [UInt8]) { uint64(UInt64(b.count)); buffer.append(contentsOf: b) }
        mutating func ballot(_ b: Ballot) { buffer.append(contentsOf: b.bytes) }
        mutating func writeID(_ w: WriteID) { buffer.append(contentsOf: w.bytes) }
        mutating func value(_ v: RegisterValue) { writeID(v.writeID); byte(v.tombstone ? 1 : 0); bytes(v.payload); bytes(v.dataRef) }
        mutating func accepted(_ a: AcceptedValue?) {
            guard let a else { return byte(0) }
            byte(1); ballot(a.ballot); value(a.value)
        }
    }

    struct Reader {
        let data: [UInt8]
        var position = 0
        init(_ data: [UInt8]) { self.data = data }
        var atEnd: Bool { position == data.count }
        mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, data.count - position >= n else { return nil }
            defer { position += n }
            return data[position..<(position + n)]
        }
        mutating func byte() -> UInt8? { take(1)?.first }
        mutating func uint64() -> UInt64? { take(8)?.reduce(0) { $0 << 8 | UInt64($1) } }
        mutating func bytes() -> [UInt8]? {
            guard let count = uint64(), count <= UInt64(data.count - position) else { return nil }
            return take(Int(count)).map(Array.init)
        }
        mutating func ballot() -> Ballot? { take(14).flatMap { Ballot(bytes: $0) } }
        mutating func writeID() -> WriteID? { take(16).flatMap { WriteID(bytes: $0) } }
        mutating func value() -> RegisterValue? {
            guard let w = writeID(), let tomb = byte(), tomb <= 1, let payload = bytes(), let dataRef = bytes() else { return nil }
            return RegisterValue(writeID: w, tombstone: tomb == 1, payload: payload, dataRef: dataRef)
        }
        mutating func accepted() -> AcceptedValue?? {
            guard let has = byte(), has <= 1 else { return nil }
            if has == 0 { return .some(nil) }
            guard let b = ballot(), let v = value() else { return nil }
            return .some(AcceptedValue(ballot: b, value: v))
        }
    }
}
