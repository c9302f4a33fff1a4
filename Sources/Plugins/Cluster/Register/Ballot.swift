/// A proposal number of the per-key register (CLUSTER.md §3): a hybrid-logical-clock time
/// plus the issuing process, so ballots are unique cluster-wide and roughly follow real time.
///
/// Order is lexicographic over (ms, logical, nodeIndex, incarnation). The design's 16-bit
/// `seq` is left out: (ms, logical) already strictly increases for every ballot one process
/// issues, and (nodeIndex, incarnation) separates processes, so a sequence number would add
/// no uniqueness.
///
/// ```swift
/// let b = Ballot(ms: 1_700_000_000_000, logical: 0, nodeIndex: 2, incarnation: 0x9e37)
/// b > .zero                       // true
/// Ballot(bytes: b.bytes) == b     // true: 14 bytes, big-endian, byte order = ballot order
/// ```
public struct Ballot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since the epoch; 48 bits are kept.
    public var ms: UInt64
    public var logical: UInt16
    public var nodeIndex: UInt16
    /// Random per process start, so a restarted process never reissues a ballot.
    public var incarnation: UInt32

    public static let zero = Ballot(ms: 0, logical: 0, nodeIndex: 0, incarnation: 0)

    public init(ms: UInt64, logical: UInt16, nodeIndex: UInt16, incarnation: UInt32) {
        self.ms = ms & 0xFFFF_FFFF_FFFF
        self.logical = logical
        self.nodeIndex = nodeIndex
        self.incarnation = incarnation
    }

    public static func < (a: Ballot, b: Ballot) -> Bool {
        // Spelled out: tuple comparison goes through runtime metadata in unoptimised builds,
        // and the simulator compares ballots millions of times.
        if a.ms != b.ms { return a.ms < b.ms }
        if a.logical != b.logical { return a.logical < b.logical }
        if a.nodeIndex != b.nodeIndex { return a.nodeIndex < b.nodeIndex }
        return a.incarnation < b.incarnation
    }

    /// Big-endian, so comparing the bytes (SQLite BLOB order) compares the ballots.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(14)
        for shift in stride(from: 40, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: ms >> UInt64(shift))) }
        out.append(UInt8(logical >> 8)); out.append(UInt8(truncatingIfNeeded: logical))
        out.append(UInt8(nodeIndex >> 8)); out.append(UInt8(truncatingIfNeeded: nodeIndex))
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: incarnation >> UInt32(shift))) }
        return out
    }

    /// Decodes ``bytes``; nil unless exactly 14 bytes.
    public init?(bytes: some Collection<UInt8>) {
        // Read in place: a listing decodes thousands of these from SQLite's buffers.
        guard bytes.count == 14 else { return nil }
        var iterator = bytes.makeIterator()
        func word(_ count: Int) -> UInt64 { (0..<count).reduce(0) { value, _ in value << 8 | UInt64(iterator.next()!) } }
        let ms = word(6), logical = UInt16(word(2)), nodeIndex = UInt16(word(2)), incarnation = UInt32(word(4))
        self.init(ms: ms, logical: logical, nodeIndex: nodeIndex, incarnation: incarnation)
    }

    /// Decodes 14 bytes in place (a listing reads thousands from SQLite's buffers).
    public init?(raw: UnsafeRawBufferPointer) {
        guard raw.count == 14 else { return nil }
        let high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        self.init(
            ms: high >> 16, logical: UInt16(truncatingIfNeeded: high),
            nodeIndex: UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)),
            incarnation: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 10, as: UInt32.self)))
    }

    public var description: String { "\(ms).\(logical)@\(nodeIndex)/\(String(incarnation, radix: 16))" }
}

/// Names one register write (distinct from the S3 version ID, which a metadata rewrite keeps).
public struct WriteID: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A fresh random write ID.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> WriteID {
        WriteID(high: generator.next(), low: generator.next())
    }

    public static func random() -> WriteID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public var description: String { String(high, radix: 16) + "-" + String(low, radix: 16) }

    /// 16 bytes, big-endian.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> UInt64(56 - 8 * (i % 8))) }
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var iterator = bytes.makeIterator()
        func word() -> UInt64 { (0..<8).reduce(0) { value, _ in value << 8 | UInt64(iterator.next()!) } }
        high = word()
        low = word()
    }

    /// Decodes 16 bytes in place.
    public init?(raw: UnsafeRawBufferPointer) {
        guard raw.count == 16 else { return nil }
        high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }
}
