/// The counting rules of an erasure set (CLUSTER.md §4): register quorums, parity raised for
/// drives that are offline when a write starts, and what a set can still do with d of its
/// n drives offline.
///
/// ```swift
/// let set = QuorumArithmetic(dataShards: 4, parityShards: 2)
/// set.writeQuorum                 // Q = 4
/// set.stripe(offline: 2)          // (k′: 3, m′: 3): parity raised
/// set.canWriteData(offline: 2)    // true; offline: 3 → false
/// ```
public struct QuorumArithmetic: Sendable, Equatable {
    /// `erasure.writeQuorum`: `parity` (the default) acknowledges a data write once k′+1
    /// drives hold it, `data` once k′ do (lets 2+1 write with a drive down, at the cost of a
    /// write that a single further failure can take until it is healed).
    public enum DataWriteQuorum: String, Sendable, Codable {
        case parity
        case data
    }

    public let dataShards: Int
    public let parityShards: Int
    public let dataWriteQuorum: DataWriteQuorum

    public init(dataShards: Int, parityShards: Int, dataWriteQuorum: DataWriteQuorum = .parity) {
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.dataWriteQuorum = dataWriteQuorum
    }

    /// n = k + m.
    public var setSize: Int { dataShards + parityShards }
    /// Q = ⌊n/2⌋ + 1: prepare, accept and write-back.
    public var writeQuorum: Int { setSize / 2 + 1 }
    /// R = n − Q + 1: answers a read waits for (R meets every Q).
    public var readQuorum: Int { setSize - writeQuorum + 1 }

    /// The code a write uses with `offline` drives of the set down as it starts:
    /// m′ = max(m, min(m + d, ⌊n/2⌋)), k′ = n − m′.
    public func stripe(offline: Int) -> (dataShards: Int, parityShards: Int) {
        let raised = max(parityShards, min(parityShards + offline, setSize / 2))
        return (setSize - raised, raised)
    }

    /// W_data: drives that must hold a write's data before it is acknowledged.
    public func dataDrivesNeeded(offline: Int) -> Int {
        let code = stripe(offline: offline)
        return code.parityShards == 0 || dataWriteQuorum == .data ? code.dataShards : code.dataShards + 1
    }

    /// A PUT or part upload: Q voters accept and W_data drives hold the data.
    public func canWriteData(offline: Int) -> Bool {
        let live = setSize - offline
        return live >= writeQuorum && live >= dataDrivesNeeded(offline: offline)
    }

    /// DELETE, PutObjectAcl and other register-only writes need Q.
    public func canWriteMetadata(offline: Int) -> Bool { setSize - offline >= writeQuorum }

    /// A read needs R answers and the k shards the object was written with.
    public func canRead(offline: Int, objectDataShards: Int? = nil) -> Bool {
        let live = setSize - offline
        return live >= readQuorum && live >= (objectDataShards ?? dataShards)
    }
}
