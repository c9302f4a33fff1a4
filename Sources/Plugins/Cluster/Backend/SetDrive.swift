import StowageCore

/// One slot of an erasure set as the backend's data operations reach it: a drive of this
/// node (``ClusterDrive``) or a drive of another node (``RemoteDrive``, through the cluster
/// transport). The register goes through ``replica(prefetch:)``; everything else a write, a
/// read or the collector does to the drive's data goes through here, so a set's operations
/// do not care where each of its drives lives.
protocol SetDrive: Sendable {
    /// For messages and health: the path, or `node:uuid`.
    var name: String { get }
    /// Advisory, as ``RegisterReplica/isOnline``: a write raises parity for drives that are
    /// offline as it starts, and tries only the others.
    var online: Bool { get }
    /// The drive's free space as its last probe measured it (nil: not known); where new
    /// buckets go.
    var space: DriveSpace? { get }
    /// This drive as the register coordinator reaches it.
    func replica(prefetch: InlinePrefetch) -> any RegisterReplica
    /// A new shard of `dataRef` in `slot`, for the erasure writer.
    func createShard(dataRef: [UInt8], part: Int, slot: Int) throws -> ShardSink
    /// Records that the drive holds the data: the shard file written whole (its length
    /// checked: a file cut short must never count as held) and, with fsync on, synced into
    /// its directory; or an inline shard kept in the catalog. Durable when it returns.
    /// `owner`: the register the writer stages the data for (found again by the scanner if
    /// the writer dies before any accept adopts it).
    func stage(dataRef: [UInt8], owner: RegisterKey?, shard: StagedShard, wallMs: UInt64) async throws
    /// A multipart Complete (CLUSTER.md §7): hard-links this drive's shard of each part,
    /// staged under the part attempt's own data ref, to `target` under the part's number, then
    /// stages `target`, so completing moves no bytes. A part counts when its attempt is still
    /// held here (not condemned), checked in the staging transaction after the link, so a
    /// collector that takes the attempt afterwards removes only the attempt's own name.
    /// Returns the part numbers that count on this drive; `target` is staged only when all do.
    func stageLinked(target: [UInt8], owner: RegisterKey?, shards: [LinkedShard], wallMs: UInt64) async throws -> [Int]
    /// Removes staged data no accept adopted (the catalog confirms first); a drive that
    /// cannot confirm keeps it for the collector. `fileParts`: the parts whose shard is a
    /// file in this slot (none for inline data).
    func discard(dataRef: [UInt8], slot: Int, fileParts: [Int]) async
    /// Where a read finds the shard; nil when it cannot be read (offline, no file).
    func shardSource(dataRef: [UInt8], part: Int, slot: Int, inline: Bool, prefetch: InlinePrefetch) -> ShardSource?
    /// A shard write that failed on this drive (its health tracker counts it).
    func record(error: String?)

    /// DeleteBucket's fence (CLUSTER.md §6, F11): closes the bucket's object keys on this
    /// drive (no prepare or accept of one) under `token` until `untilMs` of its clock, or for
    /// good (nil), or removes that token's fence (`open`).
    func fenceBucket(_ bucketID: [UInt8], token: [UInt8], untilMs: UInt64?, open: Bool) async throws

    // The collector (DataCollectionRule): condemn, read, then collect or release, each
    // under the run's `token` (a run acts on its own condemnation only).
    /// Condemns the data, held here or not (a drive that holds none then refuses to stage it).
    func condemn(dataRef: [UInt8], token: [UInt8]) async throws
    func accepted(_ key: RegisterKey) async throws -> AcceptedValue?
    /// True while the run's condemnation of the data holds here (its lease, no other run's
    /// since, never adopted or staged since).
    func stillCondemned(dataRef: [UInt8], token: [UInt8]) async throws -> Bool
    func collect(dataRef: [UInt8], token: [UInt8], slot: Int, fileParts: [Int]) async
    /// Lifts the run's condemnation, also on a drive now out of rotation.
    func release(dataRef: [UInt8], token: [UInt8]) async
}

/// A drive's free bytes and the filesystem they belong to (drives sharing one filesystem
/// share its free bytes, which count once).
struct DriveSpace: Sendable, Equatable {
    var free: Int64
    var filesystem: UInt64
}

/// What a drive stages: a shard file of a known length, or an inline shard (the whole
/// `[crc32c][block]` record, kept in the catalog).
enum StagedShard: Sendable {
    case file(part: Int, slot: Int, length: Int64)
    case inline(part: Int, slot: Int, bytes: [UInt8])
}

/// One part's shard in a ``SetDrive/stageLinked(target:shards:wallMs:)``: the attempt's
/// shard (part 1 of its data) becomes part `number` of the target.
struct LinkedShard: Codable, Sendable, Equatable {
    var attempt: [UInt8]
    var number: Int
    var slot: Int
    var inline: Bool
    /// The shard file's length, checked at the target.
    var length: Int64
}

/// A shard file whose length is not what its geometry says (a write cut short).
struct ShortShardFile: Error, CustomStringConvertible {
    let path: String
    let length: Int64?
    let expected: Int64
    var description: String { "shard file \(path) holds \(length.map(String.init) ?? "nothing"), not \(expected) bytes" }
}

/// A drive that is not there (the set map names a drive this node cannot reach).
struct DriveUnavailable: Error, CustomStringConvertible {
    let drive: String
    var description: String { "drive \(drive) is out of rotation" }
}
