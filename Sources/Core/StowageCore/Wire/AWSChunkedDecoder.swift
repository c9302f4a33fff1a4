public import NIOCore

/// Decodes an `aws-chunked` body (`Content-Encoding: aws-chunked`), fed incrementally with
/// whatever the socket delivered. Pure: no I/O, no allocation of payload bytes (data events are
/// slices of the input).
///
/// Wire format (all variants):
/// ```
/// <hex size>[;chunk-signature=<64 hex>]\r\n<size bytes>\r\n   (repeated)
/// 0[;chunk-signature=<64 hex>]\r\n
/// [<trailer name>:<value>\r\n ...]                               (…-TRAILER variants)
/// \r\n
/// ```
///
/// ```swift
/// var decoder = AWSChunkedDecoder()
/// var events: [AWSChunkedDecoder.Event] = []
/// try decoder.feed(&buffer, into: &events)     // call for each arriving buffer
/// try decoder.finish()                         // input ended: must be complete
/// ```
public struct AWSChunkedDecoder: Sendable {
    public enum Event: Sendable, Equatable {
        /// A chunk header: the chunk's size and, for signed payloads, its signature.
        case chunk(size: Int, signature: String?)
        /// Payload bytes (a slice of the fed buffer).
        case data(ByteBuffer)
        /// The end of the payload, with the trailing header fields (names lower-cased).
        case end(trailers: [Trailer])
    }

    public struct Trailer: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    enum State: Sendable, Equatable {
        case chunkHeader
        case chunkData(remaining: Int)
        case chunkDataCR
        case chunkDataLF
        case trailer
        case done
    }

    /// Longest header or trailer line accepted; real ones are under 200 bytes.
    public static let maxLineLength = 4096
    /// Most trailer bytes accepted.
    public static let maxTrailerBytes = 16 * 1024
    /// Largest chunk accepted (S3 SDKs send 8 KiB–1 MiB chunks).
    public static let maxChunkSize = 1 << 32

    private(set) var state: State = .chunkHeader
    private var line: [UInt8] = []
    private var trailers: [Trailer] = []
    private var trailerBytes = 0
    private var sawBlankLine = false
    /// Size of the previous data chunk and how many chunks came so far (for S3's 8 KiB rule).
    private var previousChunkSize: Int?
    private var chunkCount = 0

    /// Every chunk but the last must carry at least this many bytes.
    public static let minimumChunkSize = 8192
    /// Payload bytes decoded so far.
    public private(set) var decodedLength: Int64 = 0

    public init() {}

    public var isComplete: Bool { state == .done }

    /// Consumes all of `buffer`, appending what it decodes to `events`.
    public mutating func feed(_ buffer: inout ByteBuffer, into events: inout [Event]) throws {
        while buffer.readableBytes > 0 {
            switch state {
            case .chunkHeader:
                guard let header = try readLine(&buffer) else { return }
                let (size, signature) = try Self.parseChunkHeader(header)
                if size > 0, let previous = previousChunkSize, previous < Self.minimumChunkSize {
                    // S3 numbers the chunk it was reading when it noticed (the next one).
                    throw S3Error(.invalidChunkSizeError).with("Chunk", "\(chunkCount + 1)").with("BadChunkSize", "\(previous)")
                }
                chunkCount += 1
                previousChunkSize = size
                events.append(.chunk(size: size, signature: signature))
                state = size == 0 ? .trailer : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                events.append(.data(slice))
                decodedLength += Int64(count)
                state = count == remaining ? .chunkDataCR : .chunkData(remaining: remaining - count)
            case .chunkDataCR:
                guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\r") else { throw Self.malformed("missing CRLF after chunk data") }
                state = .chunkDataLF
            case .chunkDataLF:
                guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\n") else { throw Self.malformed("missing CRLF after chunk data") }
                state = .chunkHeader
            case .trailer:
                guard let trailer = try readLine(&buffer) else { return }
                if trailer.isEmpty {
                    // Some clients put a blank line between the final chunk and the trailers.
                    if trailers.isEmpty && !sawBlankLine {
                        sawBlankLine = true
                        continue
                    }
                    state = .done
                    events.append(.end(trailers: trailers))
                    continue
                }
                trailerBytes += trailer.count
                guard trailerBytes <= Self.maxTrailerBytes else { throw Self.malformedTrailer("the trailer is too large") }
                guard let colon = trailer.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                    throw Self.malformedTrailer("a trailer line has no name")
                }
                let name = String(decoding: trailer[..<colon], as: UTF8.self).trimmingSpaces().lowercased()
                let value = String(decoding: trailer[(colon + 1)...], as: UTF8.self).trimmingSpaces()
                trailers.append(Trailer(name: name, value: value))
            case .done:
                throw Self.malformed("data after the final chunk")
            }
        }
    }

    /// The input ended. Throws `IncompleteBody` unless the final chunk and trailers arrived.
    /// Some clients end the body right after the last trailer line, without the blank line;
    /// that is accepted.
    public mutating func finish() throws -> Event? {
        if state == .done { return nil }
        if state == .trailer, line.isEmpty {
            state = .done
            return .end(trailers: trailers)
        }
        throw S3Error(.incompleteBody, message: "The aws-chunked body ended before its final chunk.")
    }

    /// Reads up to and including CRLF; returns the line without it, or `nil` when more input is needed.
    private mutating func readLine(_ buffer: inout ByteBuffer) throws -> [UInt8]? {
        while let byte = buffer.readInteger(as: UInt8.self) {
            if byte == UInt8(ascii: "\n") {
                guard line.last == UInt8(ascii: "\r") else { throw Self.malformed("line not terminated by CRLF") }
                let complete = Array(line.dropLast())
                line.removeAll(keepingCapacity: true)
                return complete
            }
            line.append(byte)
            guard line.count <= Self.maxLineLength else { throw Self.malformed("line too long") }
        }
        return nil
    }

    /// `1a2b;chunk-signature=<sig>` → (0x1a2b, sig).
    static func parseChunkHeader(_ header: [UInt8]) throws -> (Int, String?) {
        let parts = header.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        let hex = parts[0]
        guard !hex.isEmpty, hex.count <= 16 else { throw malformed("invalid chunk size") }
        var size = 0
        for digit in hex {
            guard let value = PercentEncoding.hexValue(digit) else { throw malformed("invalid chunk size") }
            size = size << 4 | Int(value)
            guard size <= maxChunkSize else { throw malformed("chunk too large") }
        }
        var signature: String?
        for extensionBytes in parts.dropFirst() {
            let text = String(decoding: extensionBytes, as: UTF8.self)
            if text.hasPrefix("chunk-signature=") {
                signature = String(text.dropFirst("chunk-signature=".count))
            }
        }
        return (size, signature)
    }

    /// S3 answers broken chunk framing with `IncompleteBody`.
    static func malformed(_ detail: String) -> S3Error {
        S3Error(.incompleteBody, message: "The aws-chunked body is malformed: \(detail).")
    }

    static func malformedTrailer(_ detail: String) -> S3Error {
        S3Error(.malformedTrailerError, message: "The aws-chunked trailer is malformed: \(detail).")
    }
}
