import StowageCore

/// The live keys of one erasure set under a scope and prefix, in key order, each resolved
/// with the read rule (CLUSTER.md §5): the set's drive streams are merged, a key is decided
/// once at least R drives cover it (a drive covers a key it returned, and every key before
/// where its stream has reached), and tombstones are dropped. When the newest value among
/// those answers is marked chosen on a drive, it is the key's value (any newer chosen value
/// sits on Q drives, and every R meets every Q); otherwise the key is in doubt and a full
/// register read (with its write-back) decides. Only R drives are read while they answer
/// (that is all the rule needs); another joins, from where the listing has got to, when one
/// goes silent. Fewer than R drives answering is a 503, never a silently short listing.
///
/// A delimiter listing's drives answer one key per common prefix. A drive whose head is past
/// a key it never sent still covers it, except inside a common prefix it skipped after
/// sending that prefix's first key; that key is decided before any later one, and if it is
/// dead (deleted, or never chosen) the drives that skipped are asked for the rest of the
/// prefix, so every key is still decided from R drives that cover it.
///
/// ```swift
/// var keys = SetKeySource(set: set, scope: bucketID, prefix: [], readQuorum: 3)
/// while let (key, value) = try await keys.next() { ... }   // live values only
/// ```
struct SetKeySource: OrderedKeySource {
    typealias Value = AcceptedValue

    private let index: Int
    private let coordinator: RegisterCoordinator
    private let scope: [UInt8]
    private let readQuorum: Int
    private var streams: [DriveKeyStream]
    private var heads: [ListedRow?]
    /// The head stands for the rest of its common prefix on that drive (which prefix).
    private var headGroup: [[UInt8]?]
    /// The common prefix the drive's last decided key stood for, if it did: a seek into it
    /// must read that drive again from there.
    private var decidedGroup: [[UInt8]?]
    /// Callers that want values (listings, statistics) rather than liveness alone.
    private let needsValues: Bool
    /// Live keys whose newest copy came without its value (each a register read).
    private var valueMisses = 0
    private var exhausted: [Bool]
    private var silent: [Bool]
    /// Drives whose streams the listing reads; the others stand by.
    private var active: [Bool]
    /// How far the listing has got: where a drive that joins late starts.
    private var frontier: ListingPosition?

    /// `only`: the slots the listing may read (DeleteBucket reads only drives that hold its
    /// fence); nil for every drive.
    init(
        set: ClusterBackend.ErasureSet, scope: [UInt8], prefix: [UInt8], readQuorum: Int, pageSize: Int = 1_000, only: Set<Int>? = nil,
        delimiter: [UInt8]? = nil, needsValues: Bool = true
    ) {
        self.needsValues = needsValues
        index = set.index
        coordinator = set.coordinator
        self.scope = scope
        self.readQuorum = readQuorum
        // A drive known to be out of rotation is silent from the start: no request to it.
        streams = set.coordinator.replicas.map {
            DriveKeyStream(replica: $0, scope: scope, prefix: prefix, pageSize: pageSize, delimiter: delimiter)
        }
        heads = Array(repeating: nil, count: streams.count)
        headGroup = Array(repeating: nil, count: streams.count)
        decidedGroup = Array(repeating: nil, count: streams.count)
        exhausted = Array(repeating: false, count: streams.count)
        silent = set.coordinator.replicas.enumerated().map { slot, replica in !replica.isOnline || !(only?.contains(slot) ?? true) }
        active = Array(repeating: false, count: streams.count)
        var activated = 0
        for slot in streams.indices where !silent[slot] && activated < readQuorum {
            active[slot] = true
            // One drive brings the values; the others say which keys they hold at which
            // ballot (the value comes from a register read on the rare key where the newest
            // copy is not the value drive's). A standby that joins brings values.
            streams[slot].values = activated == 0
            activated += 1
        }
    }

    private func reading(_ slot: Int) -> Bool { active[slot] && !silent[slot] }

    static let valueMissesTolerated = 8

    private var readingCount: Int {
        var count = 0
        for slot in streams.indices where reading(slot) { count += 1 }
        return count
    }

    /// Brings standby drives in while fewer than R active drives answer; true if any joined.
    private mutating func activateStandbys() -> Bool {
        var joined = false
        while readingCount < readQuorum,
              let standby = streams.indices.first(where: { !active[$0] && !silent[$0] }) {
            active[standby] = true
            if let frontier { streams[standby].seek(frontier) }
            joined = true
        }
        return joined
    }

    mutating func next() async throws -> (key: [UInt8], value: AcceptedValue)? {
        while true {
            await fillHeads()
            if activateStandbys() { continue }
            let answering = readingCount
            guard answering >= readQuorum else {
                throw S3Error(.serviceUnavailable, message: "Only \(answering) of the \(streams.count) drives of erasure set \(index) answered the listing; \(readQuorum) are needed.")
            }
            var smallest: [UInt8]?
            for head in heads {
                guard let head else { continue }
                if smallest.map({ head.key.lexicographicallyPrecedes($0) }) ?? true { smallest = head.key }
            }
            guard let key = smallest else { return nil }
            frontier = .after(key)
            var copies: [ListedRow] = []
            var skipped: [Int] = []
            for slot in heads.indices where heads[slot]?.key == key {
                copies.append(heads[slot]!)
                if headGroup[slot] != nil { skipped.append(slot) }
                decidedGroup[slot] = headGroup[slot]
                heads[slot] = nil
            }
            if let value = try await resolve(key, copies), !value.value.tombstone { return (key, value) }
            // Dead: the listing goes on inside this key's common prefix, which these drives
            // skipped.
            for slot in skipped {
                streams[slot].resumeUngrouped(after: key)
                exhausted[slot] = false
                decidedGroup[slot] = nil
            }
        }
    }

    mutating func seek(_ position: ListingPosition) async throws {
        frontier = position
        for slot in streams.indices where reading(slot) {
            if let group = decidedGroup[slot], position.key.starts(with: group) {
                // Into a prefix this drive skipped after the key it stood for: from there again.
                heads[slot] = nil
                exhausted[slot] = false
                decidedGroup[slot] = nil
                streams[slot].reopen(at: position)
                continue
            }
            if let head = heads[slot], position.admits(head.key) { continue }
            heads[slot] = nil
            if !exhausted[slot] { streams[slot].seek(position) }
        }
    }

    private mutating func fillHeads() async {
        var fetching: [Int] = []
        for slot in streams.indices where heads[slot] == nil && !exhausted[slot] && reading(slot) {
            guard !streams[slot].needsFetch else {
                fetching.append(slot)
                continue
            }
            // Rows already fetched, a drive that said it has no more, or a catalog of this
            // process: no task of its own.
            do {
                take(.success(try await streams[slot].next()), slot)
            } catch {
                take(.failure(error), slot)
            }
        }
        guard !fetching.isEmpty else { return }
        // Drives whose next row needs a request are asked all at once.
        let streams = self.streams
        let fetched = await withTaskGroup(of: (Int, DriveKeyStream, Result<ListedRow?, any Error>).self) { group in
            for slot in fetching {
                let stream = streams[slot]
                group.addTask {
                    var stream = stream
                    do {
                        let row = try await stream.next()
                        return (slot, stream, .success(row))
                    } catch {
                        return (slot, stream, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [(Int, DriveKeyStream, Result<ListedRow?, any Error>)]()) { $0.append($1) }
        }
        for (slot, stream, result) in fetched {
            self.streams[slot] = stream
            take(result, slot)
        }
    }

    private mutating func take(_ result: Result<ListedRow?, any Error>, _ slot: Int) {
        switch result {
        case .success(let row?):
            heads[slot] = row
            headGroup[slot] = streams[slot].lastSkippedGroup
        case .success(nil): exhausted[slot] = true
        case .failure: silent[slot] = true
        }
    }

    private mutating func resolve(_ key: [UInt8], _ copies: [ListedRow]) async throws -> AcceptedValue? {
        let newest = copies.max { $0.accepted.ballot < $1.accepted.ballot }!
        if copies.contains(where: { $0.chosen && $0.accepted.ballot == newest.accepted.ballot }) {
            // A tombstone needs no payload; a live value needs a copy that brought it, unless
            // the caller asks only whether the key is live.
            if newest.accepted.value.tombstone || !needsValues { return newest.accepted }
            if let full = copies.first(where: { $0.hasValue && $0.accepted.ballot == newest.accepted.ballot }) { return full.accepted }
            // The value drive lags (it was out, say): after a few such keys every drive
            // brings values, instead of a register read per key.
            valueMisses += 1
            if valueMisses == Self.valueMissesTolerated {
                for slot in streams.indices where active[slot] { streams[slot].values = true }
            }
        }
        switch await coordinator.read(key: RegisterKey(scope: scope, key: key)) {
        case .found(let value): return value
        default:
            throw S3Error(.serviceUnavailable, message: "A key of erasure set \(index) could not be resolved for the listing; retry.")
        }
    }
}
