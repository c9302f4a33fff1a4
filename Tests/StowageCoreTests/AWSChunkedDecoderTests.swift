import NIOCore
import StowageCore
import Testing

@Suite("aws-chunked decoder")
struct AWSChunkedDecoderTests {
    /// AWS's published "Transferring Payload in Multiple Chunks" example: 66,560 bytes of 'a' in
    /// 64 KiB + 1 KiB chunks, 66,824 encoded bytes.
    static let signedExample: [UInt8] = {
        var body: [UInt8] = []
        body += Array("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 65536) + Array("\r\n".utf8)
        body += Array("400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 1024) + Array("\r\n".utf8)
        body += Array("0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".utf8)
        return body
    }()

    /// The same payload with a CRC32C trailer, as the AWS SDKs frame STREAMING-…-TRAILER bodies.
    static let trailerExample: [UInt8] = {
        var body: [UInt8] = []
        body += Array("10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 65536) + Array("\r\n".utf8)
        body += Array("400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 1024) + Array("\r\n".utf8)
        body += Array("0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n".utf8)
        body += Array("x-amz-checksum-crc32c:sOO8/Q==\r\n".utf8)
        body += Array("x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n".utf8)
        return body
    }()

    struct Decoded: Equatable {
        var payload: [UInt8] = []
        var chunks: [AWSChunkedDecoder.Event] = []
        var trailers: [AWSChunkedDecoder.Trailer]?
    }

    /// Feeds `body` in pieces cut at `cuts` and collects what comes out.
    func decode(_ body: [UInt8], cuts: [Int]) throws -> Decoded {
        var decoder = AWSChunkedDecoder()
        var result = Decoded()
        var start = 0
        for end in cuts + [body.count] where end >= start {
            var buffer = ByteBuffer(bytes: body[start..<end])
            var events: [AWSChunkedDecoder.Event] = []
            try decoder.feed(&buffer, into: &events)
            collect(events, into: &result)
            start = end
        }
        if let last = try decoder.finish() { collect([last], into: &result) }
        return result
    }

    func collect(_ events: [AWSChunkedDecoder.Event], into result: inout Decoded) {
        for event in events {
            switch event {
            case .data(let slice): result.payload += slice.readableBytesView
            case .chunk: result.chunks.append(event)
            case .end(let trailers): result.trailers = trailers
            }
        }
    }

    @Test("the published signed example decodes to 66,560 bytes with its chunk signatures")
    func signedExample() throws {
        #expect(Self.signedExample.count == 66824)
        let decoded = try decode(Self.signedExample, cuts: [])
        #expect(decoded.payload == [UInt8](repeating: UInt8(ascii: "a"), count: 66560))
        #expect(decoded.chunks == [
            .chunk(size: 65536, signature: "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
            .chunk(size: 1024, signature: "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
            .chunk(size: 0, signature: "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
        ])
        #expect(decoded.trailers == [])
    }

    @Test("byte-by-byte feeding gives the same result")
    func byteByByte() throws {
        let whole = try decode(Self.trailerExample, cuts: [])
        let pieces = try decode(Self.trailerExample, cuts: Array(1..<Self.trailerExample.count))
        #expect(pieces == whole)
        #expect(whole.trailers == [
            .init(name: "x-amz-checksum-crc32c", value: "sOO8/Q=="),
            .init(name: "x-amz-trailer-signature", value: "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"),
        ])
        // The trailer's CRC32C is the checksum of the decoded payload.
        #expect(Base64.encode(ChecksumHasher.checksum(.crc32c, whole.payload)) == "sOO8/Q==")
    }

    @Test("every single split point of an unsigned trailer body decodes identically")
    func everySplit() throws {
        let payload = (0..<8292).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var body = Array("2000\r\n".utf8) + payload[..<8192] + Array("\r\n".utf8)
        body += Array("64\r\n".utf8) + payload[8192...] + Array("\r\n0\r\nx-amz-checksum-crc32:\(Base64.encode(ChecksumHasher.checksum(.crc32, payload)))\r\n\r\n".utf8)
        let whole = try decode(body, cuts: [])
        #expect(whole.payload == payload)
        for cut in 1..<body.count {
            #expect(try decode(body, cuts: [cut]) == whole, "split at \(cut)")
        }
        // Two cuts, on a coarser grid.
        for first in stride(from: 1, to: body.count, by: 97) {
            for second in stride(from: first, to: body.count, by: 1009) {
                #expect(try decode(body, cuts: [first, second]) == whole)
            }
        }
    }

    @Test("tolerated variants: blank line before trailers, no final CRLF")
    func tolerated() throws {
        let withBlank = Array("3\r\nabc\r\n0\r\n\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n".utf8)
        #expect(try decode(withBlank, cuts: []).trailers == [.init(name: "x-amz-checksum-crc32", value: "NSRBwg==")])
        let noFinalCRLF = Array("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n".utf8)
        #expect(try decode(noFinalCRLF, cuts: []).trailers == [.init(name: "x-amz-checksum-crc32", value: "NSRBwg==")])
        let plain = Array("3\r\nabc\r\n0\r\n\r\n".utf8)
        #expect(try decode(plain, cuts: []).payload == Array("abc".utf8))
    }

    @Test("broken framing is IncompleteBody; bad trailers MalformedTrailerError; small chunks InvalidChunkSizeError", arguments: [
        ("3\r\nab", "IncompleteBody"),
        ("3\r\nabc\r\n", "IncompleteBody"),
        ("zz\r\nabc\r\n0\r\n\r\n", "IncompleteBody"),
        ("3\r\nabcX\r\n0\r\n\r\n", "IncompleteBody"),
        ("3\nabc\r\n0\r\n\r\n", "IncompleteBody"),
        ("3\r\nabc\r\n0\r\n\r\nextra", "IncompleteBody"),
        ("11111111111111111\r\n", "IncompleteBody"),
        ("3\r\nabc\r\n0\r\nno-colon-here\r\n\r\n", "MalformedTrailerError"),
        ("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", "InvalidChunkSizeError"),
    ])
    func errors(body: String, code: String) {
        #expect {
            _ = try decode(Array(body.utf8), cuts: [])
        } throws: { error in
            (error as? S3Error)?.code.name == code
        }
    }

    @Test("an over-long header line is refused before it costs memory")
    func longLine() {
        let body = Array(String(repeating: "1", count: 10).utf8) + Array(";x=\(String(repeating: "y", count: 5000))".utf8)
        #expect(throws: S3Error.self) { _ = try decode(body, cuts: []) }
    }
}
