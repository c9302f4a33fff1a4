public import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An incremental `multipart/form-data` decoder (RFC 7578 over RFC 2046's framing), fed bytes as
/// they arrive. It emits each part's head, the part's content in slices, the end of each part
/// and the end of the body. Content is never held back beyond the few bytes that could begin a
/// delimiter split across reads, so a multi-gigabyte file part streams through it.
///
/// ```swift
/// var decoder = try MultipartFormDecoder(boundary: "XyZ")
/// var events: [MultipartFormDecoder.Event] = []
/// try decoder.feed(&chunk, into: &events)   // .head(...), .data(...), .partEnd, ..., .end
/// try decoder.finish()                      // the input ended: throws unless the body was complete
/// ```
public struct MultipartFormDecoder: Sendable {
    /// A part's `Content-Disposition` and `Content-Type`.
    public struct PartHead: Sendable, Equatable {
        public var name: String
        public var filename: String?
        public var contentType: String?

        public init(name: String, filename: String? = nil, contentType: String? = nil) {
            self.name = name
            self.filename = filename
            self.contentType = contentType
        }
    }

    public enum Event: Sendable, Equatable {
        case head(PartHead)
        case data(ByteBuffer)
        case partEnd
        case end
    }

    enum State { case preamble, afterDelimiter, headers, content, epilogue }

    /// The largest part head (its header lines) accepted.
    public static let maxHeadBytes = 8 * 1024
    static let maxPadding = 256

    /// `CRLF--boundary`: what ends each part's content.
    private let delimiter: [UInt8]
    private var state = State.preamble
    /// Input not yet decoded. Starts with a CRLF so that a delimiter at the very start of the
    /// body (the usual case, no preamble) is found by the same search as every later one.
    private var held = ByteBuffer(bytes: [13, 10])

    /// `boundary` from the Content-Type; RFC 2046 allows 1 to 70 characters.
    public init(boundary: String) throws {
        guard (1...70).contains(boundary.utf8.count) else {
            throw S3Error(.malformedPOSTRequest, message: "The multipart/form-data boundary must be 1 to 70 characters long.")
        }
        delimiter = [13, 10, 45, 45] + Array(boundary.utf8)
    }

    /// Whether the closing delimiter has been seen.
    public var isComplete: Bool { state == .epilogue }

    /// Decodes what `input` adds (consuming it) and appends the events it completes.
    public mutating func feed(_ input: inout ByteBuffer, into events: inout [Event]) throws {
        if state == .epilogue {
            input.moveReaderIndex(to: input.writerIndex)
            return
        }
        if held.readableBytes == 0 { swap(&held, &input) } else { held.writeBuffer(&input) }
        while try step(&events) {}
        held.discardReadBytes()
    }

    /// The input ended: `MalformedPOSTRequest` unless the closing delimiter was seen.
    public func finish() throws {
        guard state == .epilogue else {
            throw S3Error(.malformedPOSTRequest, message: "The body of your POST request ended before its closing multipart boundary.")
        }
    }

    /// One step of the state machine; `false` when it needs more input.
    private mutating func step(_ events: inout [Event]) throws -> Bool {
        switch state {
        case .preamble:
            guard let found = Self.find(delimiter, in: held) else {
                held.moveReaderIndex(forwardBy: max(0, held.readableBytes - (delimiter.count - 1)))
                return false
            }
            held.moveReaderIndex(forwardBy: found + delimiter.count)
            state = .afterDelimiter
            return true
        case .afterDelimiter:
            return try afterDelimiter(&events)
        case .headers:
            return try headers(&events)
        case .content:
            if let found = Self.find(delimiter, in: held) {
                if found > 0 { events.append(.data(held.readSlice(length: found)!)) }
                held.moveReaderIndex(forwardBy: delimiter.count)
                events.append(.partEnd)
                state = .afterDelimiter
                return true
            }
            // Everything but a possible start of a delimiter is content.
            let safe = held.readableBytes - (delimiter.count - 1)
            if safe > 0 { events.append(.data(held.readSlice(length: safe)!)) }
            return false
        case .epilogue:
            held.moveReaderIndex(to: held.writerIndex)
            return false
        }
    }

    /// After a delimiter: `--` closes the body; otherwise optional padding, then CRLF.
    private mutating func afterDelimiter(_ events: inout [Event]) throws -> Bool {
        let view = held.readableBytesView
        guard view.count >= 2 else { return false }
        if view.starts(with: [45, 45]) {
            events.append(.end)
            state = .epilogue
            return true
        }
        var index = view.startIndex
        while index < view.endIndex, view[index] == 32 || view[index] == 9 { index += 1 }
        let padding = index - view.startIndex
        guard padding <= Self.maxPadding else { throw Self.malformed("A multipart boundary line has too much padding.") }
        guard view.endIndex - index >= 2 else { return false }
        guard view[index] == 13, view[index + 1] == 10 else { throw Self.malformed("A multipart boundary line is not followed by CRLF.") }
        held.moveReaderIndex(forwardBy: padding + 2)
        state = .headers
        return true
    }

    private mutating func headers(_ events: inout [Event]) throws -> Bool {
        let view = held.readableBytesView
        let end: Int
        if view.starts(with: [13, 10]) {
            end = 0
        } else if let found = Self.find([13, 10, 13, 10], in: held) {
            end = found + 2
        } else {
            guard view.count <= Self.maxHeadBytes else { throw Self.malformed("A multipart part's headers are too large.") }
            return false
        }
        guard end <= Self.maxHeadBytes else { throw Self.malformed("A multipart part's headers are too large.") }
        let block = held.readSlice(length: end)!
        held.moveReaderIndex(forwardBy: 2)
        events.append(.head(try Self.parseHead(block)))
        state = .content
        return true
    }

    static func malformed(_ message: String) -> S3Error { S3Error(.malformedPOSTRequest, message: message) }

    /// Parses header lines (each ending in CRLF) into the part's name, filename and type.
    static func parseHead(_ block: ByteBuffer) throws -> PartHead {
        var name: String?
        var filename: String?
        var contentType: String?
        let text = String(decoding: block.readableBytesView, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { throw malformed("A multipart part header has no colon.") }
            let field = line[..<colon].trimmingSpaces().lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            switch field {
            case "content-disposition":
                let parameters = HeaderParameters.parse(value)
                guard parameters.value.lowercased() == "form-data", let fieldName = parameters["name"] else {
                    throw malformed("A multipart part is not a form-data part with a name.")
                }
                name = fieldName
                filename = parameters["filename"]
            case "content-type":
                contentType = value
            default:
                continue
            }
        }
        guard let name else { throw malformed("A multipart part has no Content-Disposition.") }
        return PartHead(name: name, filename: filename, contentType: contentType)
    }

    /// The offset of `pattern` in `buffer`'s readable bytes.
    static func find(_ pattern: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= pattern.count, let base = bytes.baseAddress else { return nil }
            let first = Int32(pattern[0])
            var offset = 0
            let last = bytes.count - pattern.count
            while offset <= last {
                guard let hit = memchr(base + offset, first, last - offset + 1) else { return nil }
                let position = base.distance(to: UnsafeRawPointer(hit))
                if pattern.withUnsafeBytes({ memcmp(base + position, $0.baseAddress!, pattern.count) }) == 0 { return position }
                offset = position + 1
            }
            return nil
        }
    }
}

/// A header value with `;`-separated parameters: `form-data; name="key"; filename="a b.txt"`.
/// In a quoted value a backslash escapes only a quote: browsers send Windows paths
/// (`C:\Users\me\a.jpg`) with their backslashes as they are. Names are case-insensitive.
struct HeaderParameters {
    var value: String
    var parameters: [(name: String, value: String)]

    subscript(name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }

    static func parse(_ text: String) -> HeaderParameters {
        var pieces: [String] = []
        var current: [Character] = []
        var quoted = false
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            index += 1
            if quoted, character == "\\", index < characters.count, characters[index] == "\"" {
                current.append("\"")
                index += 1
            } else if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if character == ";", !quoted {
                pieces.append(String(current))
                current = []
            } else {
                current.append(character)
            }
        }
        pieces.append(String(current))
        var result = HeaderParameters(value: pieces[0].trimmingSpaces(), parameters: [])
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingSpaces().lowercased()
            var value = piece[piece.index(after: equals)...].trimmingSpaces()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            result.parameters.append((name, value))
        }
        return result
    }
}
