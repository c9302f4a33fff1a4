/// One pool of a deployment as every node agrees on it (CLUSTER.md §1, §9): the key of its
/// placement hash, its set map and who holds each drive. A single node's drives are one pool,
/// read from their formats; the pools of a multi-process cluster come from its cluster map, in
/// the order they were formed (pool 0 holds the system set).
///
/// ```swift
/// let pool = PoolLayout(deploymentID: "9f1c…", sets: [[uuid0, …, uuid5]], owners: [uuid0: "node-1", …])
/// ```
public struct PoolLayout: Sendable, Equatable {
    /// 32 hex digits; keys the pool's placement hash.
    public var deploymentID: String
    /// `sets[s][i]`: the UUID of the drive in slot i of set s.
    public var sets: [[String]]
    /// Which node holds each drive (UUID → node ID); empty for one node's drives.
    public var owners: [String: String]

    public init(deploymentID: String, sets: [[String]], owners: [String: String]) {
        self.deploymentID = deploymentID
        self.sets = sets
        self.owners = owners
    }

    /// The pool a drive's format describes.
    init(_ format: DriveFormat) {
        self.init(deploymentID: format.deploymentID, sets: format.sets, owners: format.nodes ?? [:])
    }

    /// The deployment ID as the 16 bytes placement hashes with.
    var deploymentKey: [UInt8] {
        DriveFormat.hexBytes(deploymentID)
    }
}
