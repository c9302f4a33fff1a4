/// The name of a register on a drive: a scope (an object's bucket ID, or a system space)
/// and the key within it. Both compare as bytes, so keys sort in UTF-8 order.
public struct RegisterKey: Sendable, Hashable {
    public var scope: [UInt8]
    public var key: [UInt8]

    public init(scope: [UInt8], key: [UInt8]) {
        self.scope = scope
        self.key = key
    }

    public init(scope: [UInt8], key: String) {
        self.init(scope: scope, key: Array(key.utf8))
    }
}

/// One value of a register: an object's manifest, a bucket record, an upload, a part or a
/// fence, opaque to the protocol. Two values are the same write exactly when their
/// ``writeID``s are equal.
///
/// ```swift
/// let v = RegisterValue(writeID: .random(), payload: manifestBytes)
/// let gone = RegisterValue(writeID: .random(), tombstone: true)
/// ```
public struct RegisterValue: Sendable, Hashable {
    public var writeID: WriteID
    /// A delete marker of the register: reads answer "absent" (NoSuchKey) for it.
    public var tombstone: Bool
    /// The encoded value (manifest, bucket record, ...); empty for a tombstone.
    public var payload: [UInt8]
    /// The data the value references on the drives (an object version's shards), empty
    /// for none. A drive accepting the value adopts that data (CLUSTER.md §2).
    public var dataRef: [UInt8]

    public init(writeID: WriteID, tombstone: Bool = false, payload: [UInt8] = [], dataRef: [UInt8] = []) {
        self.writeID = writeID
        self.tombstone = tombstone
        self.payload = payload
        self.dataRef = dataRef
    }
}

/// A value an acceptor accepted, with the ballot it accepted it at.
public struct AcceptedValue: Sendable, Hashable {
    public var ballot: Ballot
    public var value: RegisterValue

    public init(ballot: Ballot, value: RegisterValue) {
        self.ballot = ballot
        self.value = value
    }

    /// The pair the protocol compares: same ballot and same write.
    public func isSameWrite(as other: AcceptedValue) -> Bool {
        ballot == other.ballot && value.writeID == other.value.writeID
    }
}

/// What one drive keeps for one key (CLUSTER.md §3). A key with no record has promised
/// nothing and accepted nothing.
public struct AcceptorRecord: Sendable, Hashable {
    public var promised: Ballot
    public var accepted: AcceptedValue?
    /// The accepted value is known to be chosen (a learn or commit said so).
    public var chosen: Bool

    public init(promised: Ballot = .zero, accepted: AcceptedValue? = nil, chosen: Bool = false) {
        self.promised = promised
        self.accepted = accepted
        self.chosen = chosen
    }
}
