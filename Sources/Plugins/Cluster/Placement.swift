import StowageCore

/// Where a key lives, as a pure function of what every node agrees on (CLUSTER.md §1, F10):
/// its erasure set is `siphash24(deploymentID, bucketID ‖ 0x00 ‖ key) mod sets` within the
/// bucket's pool, and its shards start at slot `crc32c(key) mod n` and rotate.
///
/// ```swift
/// let placement = Placement(deploymentID: id, sets: 4, setSize: 6)
/// placement.set(bucketID: bucket, key: "photos/cat.jpg")        // 0..<4
/// placement.shardOrder(key: "photos/cat.jpg")                    // e.g. [3, 4, 5, 0, 1, 2]
/// ```
public struct Placement: Sendable, Equatable {
    public let deploymentKey: SipHash24.Key
    public let sets: Int
    public let setSize: Int

    /// `deploymentID`: the cluster's 16-byte deployment identifier.
    public init(deploymentID: [UInt8], sets: Int, setSize: Int) {
        precondition(sets > 0 && setSize > 0, "a placement needs sets")
        self.deploymentKey = SipHash24.Key(bytes: deploymentID)
        self.sets = sets
        self.setSize = setSize
    }

    public func set(bucketID: [UInt8], key: String) -> Int {
        var message = bucketID
        message.append(0)
        message.append(contentsOf: key.utf8)
        return Int(SipHash24.hash(message, key: deploymentKey) % UInt64(sets))
    }

    /// The set's slots in the order a key's shards take them: shard i goes to slot
    /// `(start + i) mod n`.
    public func shardOrder(key: String) -> [Int] { Self.shardOrder(key: key, setSize: setSize) }

    /// The same for any set of `setSize` slots: the order depends on the key alone, in every pool.
    public static func shardOrder(key: String, setSize: Int) -> [Int] {
        let start = Int(Checksums.crc32c(key.utf8) % UInt32(setSize))
        return (0..<setSize).map { (start + $0) % setSize }
    }
}
