import NIOCore
import StowageCore
import Testing

@Suite("multipart/form-data decoder")
struct MultipartFormDecoderTests {
    typealias Event = MultipartFormDecoder.Event

    /// A form as browsers send it: two fields, then a file whose content contains CRLF, dashes
    /// and a near-miss of the delimiter.
    static let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    static let file: [UInt8] = Array("line one\r\n--not-the-boundary\r\n\r\n------WebKitFormBoundary7MA4YWxkTrZu0g\r\nend".utf8) + [0, 255, 13]
    static let form: [UInt8] = {
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"x-amz-meta-note\"\r\n\r\nh\u{e9}llo\r\n".utf8)
        // A Windows path as old browsers send it: backslashes as they are, a quote escaped.
        body += Array(#"--\#(boundary)\#r\#nContent-Disposition: form-data; name="file"; filename="C:\Users\me\a \"b\".txt"\#r\#nContent-Type: text/plain\#r\#n\#r\#n"#.utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\nepilogue ignored".utf8)
        return body
    }()

    struct Decoded: Equatable {
        var parts: [(head: MultipartFormDecoder.PartHead, content: [UInt8])] = []
        var ended = false
        static func == (lhs: Decoded, rhs: Decoded) -> Bool {
            lhs.ended == rhs.ended && lhs.parts.map(\.head) == rhs.parts.map(\.head) && lhs.parts.map(\.content) == rhs.parts.map(\.content)
        }
    }

    func decode(_ body: [UInt8], cuts: [Int], boundary: String = Self.boundary) throws -> Decoded {
        var decoder = try MultipartFormDecoder(boundary: boundary)
        var result = Decoded()
        var start = 0
        var partOpen = false
        for end in cuts + [body.count] where end >= start {
            var buffer = ByteBuffer(bytes: body[start..<end])
            var events: [Event] = []
            try decoder.feed(&buffer, into: &events)
            #expect(buffer.readableBytes == 0, "feed consumes its input")
            for event in events {
                switch event {
                case .head(let head):
                    #expect(!partOpen)
                    result.parts.append((head, []))
                    partOpen = true
                case .data(let bytes):
                    #expect(partOpen)
                    result.parts[result.parts.count - 1].content += bytes.readableBytesView
                case .partEnd:
                    partOpen = false
                case .end:
                    result.ended = true
                }
            }
            start = end
        }
        try decoder.finish()
        return result
    }

    @Test func decodesABrowserForm() throws {
        let decoded = try decode(Self.form, cuts: [])
        #expect(decoded.ended)
        #expect(decoded.parts.map(\.head) == [
            .init(name: "key"), .init(name: "x-amz-meta-note"),
            .init(name: "file", filename: #"C:\Users\me\a "b".txt"#, contentType: "text/plain"),
        ])
        #expect(decoded.parts.map(\.content) == [Array("uploads/${filename}".utf8), Array("h\u{e9}llo".utf8), Self.file])
    }

    @Test func everySplitPointGivesTheSameParts() throws {
        let whole = try decode(Self.form, cuts: [])
        for cut in 0...Self.form.count {
            #expect(try decode(Self.form, cuts: [cut]) == whole, "split at \(cut)")
        }
        // Byte by byte, too.
        #expect(try decode(Self.form, cuts: Array(0...Self.form.count)) == whole)
    }

    @Test func preambleTransportPaddingAndEmptyParts() throws {
        let body = Array("preamble text\r\n--b  \t\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--b--".utf8)
        let decoded = try decode(body, cuts: [], boundary: "b")
        #expect(decoded.ended)
        #expect(decoded.parts.map(\.head) == [.init(name: "e"), .init(name: "x")])
        #expect(decoded.parts.map(\.content) == [[], []])
    }

    @Test func truncatedFormsFailAtFinish() throws {
        for length in [0, 10, Self.form.count - 30, Self.form.count - 19] {
            #expect(throws: S3Error.self) { try decode(Array(Self.form.prefix(length)), cuts: []) }
        }
    }

    @Test func malformedFormsAreRefused() throws {
        let cases = [
            "--b\r\nContent-Disposition: attachment; name=x\r\n\r\nv\r\n--b--",
            "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",
            "--bX\r\n",
            "--b\r\nno colon here\r\n\r\nv\r\n--b--",
        ]
        for text in cases {
            #expect(throws: S3Error.self, "\(text)") { try decode(Array(text.utf8), cuts: [], boundary: "b") }
        }
        let longHead = "--b\r\nContent-Disposition: form-data; name=x\r\nX-Pad: " + String(repeating: "p", count: 9000) + "\r\n\r\nv\r\n--b--"
        #expect(throws: S3Error.self) { try decode(Array(longHead.utf8), cuts: [], boundary: "b") }
        #expect(throws: S3Error.self) { try MultipartFormDecoder(boundary: "") }
        #expect(throws: S3Error.self) { try MultipartFormDecoder(boundary: String(repeating: "b", count: 71)) }
    }

    @Test func largeContentIsStreamedNotHeld() throws {
        var decoder = try MultipartFormDecoder(boundary: "b")
        var events: [Event] = []
        var head = ByteBuffer(string: "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n")
        try decoder.feed(&head, into: &events)
        var streamed = 0
        for _ in 0..<64 {
            var chunk = ByteBuffer(repeating: 0x61, count: 64 * 1024)
            events.removeAll()
            try decoder.feed(&chunk, into: &events)
            for case .data(let bytes) in events { streamed += bytes.readableBytes }
        }
        // All but the few bytes that might start a delimiter came out as they went in.
        #expect(streamed >= 64 * 64 * 1024 - 4)
    }
}
