import NIOCore

/// The bytes of a range of a multipart object: each part's own erasure read, one after the
/// other. A part's shards are opened only when the read reaches it (a 10,000-part object must
/// not hold 60,000 files open); the first part's are opened before the response starts, so
/// an object that cannot be read is a clean 503.
///
/// ```swift
/// let bytes = PartChainSequence(pieces: [(first, 0..<5_242_880), ...]) { index, range in try reader(index, range) }
/// for try await buffer in bytes { ... }
/// ```
struct PartChainSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    /// For each part the range covers: its index and the range within the part.
    let pieces: [(part: Int, range: Range<Int64>)]
    /// The first piece's read, made before the response starts.
    let first: ErasureReadSequence?
    let open: @Sendable (_ part: Int, _ range: Range<Int64>) throws -> ErasureReadSequence

    init(
        pieces: [(part: Int, range: Range<Int64>)],
        open: @escaping @Sendable (_ part: Int, _ range: Range<Int64>) throws -> ErasureReadSequence
    ) throws {
        self.pieces = pieces
        self.open = open
        first = try pieces.first.map { try open($0.part, $0.range) }
    }

    /// Which parts (by index) the object range `range` covers, with the range within each.
    static func pieces(sizes: [Int64], range: Range<Int64>) -> [(part: Int, range: Range<Int64>)] {
        var pieces: [(part: Int, range: Range<Int64>)] = []
        var offset: Int64 = 0
        for (index, size) in sizes.enumerated() {
            defer { offset += size }
            let lower = Swift.max(range.lowerBound, offset), upper = Swift.min(range.upperBound, offset + size)
            guard lower < upper else { continue }
            pieces.append((index, (lower - offset)..<(upper - offset)))
        }
        return pieces
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: PartChainSequence
        var next = 0
        var current: ErasureReadSequence.AsyncIterator?

        mutating func next() async throws -> ByteBuffer? {
            while true {
                if let buffer = try await current?.next() { return buffer }
                guard next < sequence.pieces.count else { return nil }
                let piece = sequence.pieces[next]
                let read = next == 0 ? sequence.first! : try sequence.open(piece.part, piece.range)
                current = read.makeAsyncIterator()
                next += 1
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}
