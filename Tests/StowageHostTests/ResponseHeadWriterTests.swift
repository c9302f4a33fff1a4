import HTTPTypes
import NIOCore
import NIOHTTP1
@testable import Stowage
import StowageCore
import Testing

@Suite("HTTP/1.1 heads")
struct ResponseHeadWriterTests {
    func framing(keepAlive: Bool = true, version: HTTPVersion = .http1_1) -> ConnectionStateMachine.ResponseFraming {
        .init(version: version, keepAlive: keepAlive, isHead: false, finishStream: false, readNow: false)
    }

    @Test("framing headers come from the writer, never from the response")
    func framingHeaders() {
        var fields = HTTPFields()
        fields[.contentLength] = "999"
        fields[.transferEncoding] = "gzip"
        fields[.eTag] = "\"abc\""
        let head = ResponseHeadWriter.head(for: S3Response(status: .ok, headers: fields), requestID: "R1", length: 5, framing: framing())
        #expect(head.headers["Content-Length"] == ["5"])
        #expect(head.headers["Transfer-Encoding"].isEmpty)
        #expect(head.headers["ETag"] == ["\"abc\""])
        #expect(head.headers["x-amz-request-id"] == ["R1"])
        #expect(head.headers["Date"].count == 1)
        #expect(head.headers["Connection"].isEmpty)
    }

    @Test("HEAD keeps the declared length; 204 and 304 carry none; streams are chunked")
    func bodylessAndStreamed() {
        var fields = HTTPFields()
        fields[.contentLength] = "1234"
        let headAnswer = ResponseHeadWriter.head(for: S3Response(status: .ok, headers: fields), requestID: "R", length: nil, framing: framing())
        #expect(headAnswer.headers["Content-Length"] == ["1234"])
        let noContent = ResponseHeadWriter.head(for: S3Response(status: .noContent), requestID: "R", length: nil, framing: framing())
        #expect(noContent.headers["Content-Length"].isEmpty)
        let notModified = ResponseHeadWriter.head(for: S3Response(status: .notModified), requestID: "R", length: nil, framing: framing())
        #expect(notModified.headers["Content-Length"].isEmpty)
        let empty = ResponseHeadWriter.head(for: S3Response(status: .ok), requestID: "R", length: nil, framing: framing())
        #expect(empty.headers["Content-Length"] == ["0"])
        let stream = S3Response(status: .ok, body: .stream(S3Body(ByteBuffer(string: "x")), length: nil))
        #expect(ResponseHeadWriter.head(for: stream, requestID: "R", length: nil, framing: framing()).headers["Transfer-Encoding"] == ["chunked"])
    }

    @Test("Connection: close when the connection ends; keep-alive spelled out for HTTP/1.0")
    func connectionHeader() {
        let closing = ResponseHeadWriter.head(for: S3Response(), requestID: "R", length: 0, framing: framing(keepAlive: false))
        #expect(closing.headers["Connection"] == ["close"])
        let old = ResponseHeadWriter.head(for: S3Response(), requestID: "R", length: 0, framing: framing(version: .http1_0))
        #expect(old.headers["Connection"] == ["keep-alive"])
        #expect(old.version == .http1_0)
    }

    @Test("a request head needs exactly one Host from HTTP/1.1 on")
    func requestHeads() throws {
        func head(_ version: HTTPVersion, _ headers: [(String, String)]) -> HTTPRequestHead {
            HTTPRequestHead(version: version, method: .GET, uri: "/b/k?x=1", headers: HTTPHeaders(headers))
        }
        let request = try S3Request.fromHTTP1(head(.http1_1, [("Host", "h:9000"), ("X-Amz-Date", "d")]), body: .empty).get()
        #expect(request.host == "h")
        #expect(request.headers[HTTPField.Name("x-amz-date")!] == "d")
        #expect(throws: S3Error.self) { try S3Request.fromHTTP1(head(.http1_1, [("Host", "a"), ("host", "b")]), body: .empty).get() }
        #expect(throws: S3Error.self) { try S3Request.fromHTTP1(head(.http1_1, []), body: .empty).get() }
        #expect(try S3Request.fromHTTP1(head(.http1_0, []), body: .empty).get().host == nil)
    }
}
