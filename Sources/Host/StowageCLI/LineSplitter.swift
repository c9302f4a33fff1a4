/// Splits a byte stream into newline-terminated lines of at most `limit` bytes. A longer line is
/// reported once, as `.tooLong`, and skipped up to its newline: one runaway line from the
/// controlling program cannot grow memory without bound, and the lines after it still parse.
///
/// ```swift
/// var splitter = LineSplitter(limit: 1 << 20)
/// for piece in splitter.feed(chunk) { ... }   // .line("...") or .tooLong
/// for piece in splitter.finish() { ... }       // a last line without a newline
/// ```
struct LineSplitter {
    enum Piece: Equatable, Sendable {
        case line(String)
        case tooLong
    }

    let limit: Int
    private var pending: [UInt8] = []
    /// Inside a line already reported as too long, until its newline.
    private var skipping = false

    init(limit: Int) {
        self.limit = limit
    }

    mutating func feed(_ bytes: some Collection<UInt8>) -> [Piece] {
        var pieces: [Piece] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: 0x0A)
            let segment = rest[..<(newline ?? rest.endIndex)]
            if !skipping {
                if pending.count + segment.count > limit {
                    pieces.append(.tooLong)
                    pending.removeAll()
                    skipping = true
                } else {
                    pending.append(contentsOf: segment)
                }
            }
            guard let newline else { break }
            if !skipping {
                // A CRLF line ends like an LF one, as readLine would have it.
                if pending.last == 0x0D { pending.removeLast() }
                pieces.append(.line(String(decoding: pending, as: UTF8.self)))
            }
            pending.removeAll(keepingCapacity: true)
            skipping = false
            rest = rest[rest.index(after: newline)...]
        }
        return pieces
    }

    /// The last line, when the stream ends without a newline.
    mutating func finish() -> [Piece] {
        defer { pending.removeAll() }
        return skipping || pending.isEmpty ? [] : [.line(String(decoding: pending, as: UTF8.self))]
    }
}
