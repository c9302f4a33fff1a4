import HTTPTypes
import NIOCore
import StowageCore
import Testing

@Suite("Payload integrity: decoding and verifying request bodies")
struct PayloadIntegrityTests {
    func request(_ body: [UInt8], headers: [(String, String)]) -> S3Request {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        if !headers.contains(where: { $0.0 == "Content-Length" }) { fields[.contentLength] = "\(body.count)" }
        return S3Request(method: .put, target: "/b/k", headers: fields, body: S3Body(ByteBuffer(bytes: body)))
    }

    func drain(_ payload: PreparedPayload) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in payload.body { out += chunk.readableBytesView }
        return out
    }

    func code(_ body: () async throws -> Void) async -> String? {
        do { try await body(); return nil } catch let error as S3Error { return error.code.name } catch { return "\(error)" }
    }

    let data = Array("Hello world".utf8)

    @Test func headerChecksums() async throws {
        for (algorithm, value) in [(ChecksumAlgorithm.crc32, "i9aeUg=="), (.crc32c, "crUfeA=="), (.crc64nvme, "OOJZ0D8xKts="),
                                   (.sha1, "e1AsOh9IyGCa4hLN+2Od7jlnP14="), (.sha256, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=")] {
            let payload = try PayloadIntegrity.prepare(request(data, headers: [(algorithm.headerName, value), ("x-amz-sdk-checksum-algorithm", algorithm.rawValue)]))
            #expect(try await drain(payload) == data)
            #expect(payload.checksum?.algorithm == algorithm)
            #expect(payload.checksum?.value.map { Base64.encode($0) } == value)
        }
    }

    @Test func mismatchesAndMalformedValues() async throws {
        let wrong = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-checksum-crc32", "AAAAAA==")]))
        #expect(await code { _ = try await drain(wrong) } == "BadDigest")
        #expect(wrong.checksum?.value == nil)
        #expect(await code { _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-checksum-crc32", "!!!")])) } == "InvalidRequest")
        #expect(await code { _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-checksum-crc32", "AAAAAAAA")])) } == "InvalidRequest")
        #expect(await code {
            _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-checksum-crc32", "i9aeUg=="), ("x-amz-checksum-crc32c", "crUfeA==")]))
        } == "InvalidRequest")
        #expect(await code { _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-sdk-checksum-algorithm", "CRC32")])) } == "InvalidRequest")
        #expect(await code { _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-sdk-checksum-algorithm", "MD4"), ("x-amz-checksum-crc32", "i9aeUg==")])) } == "InvalidRequest")
        #expect(await code {
            _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-crc32", "i9aeUg==")]))
        } == "InvalidRequest")
    }

    @Test func payloadSHA256() async throws {
        let good = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-content-sha256", SHA256.hex(data))]))
        #expect(try await drain(good) == data)
        let bad = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-content-sha256", SHA256.hex([1]))]))
        #expect(await code { _ = try await drain(bad) } == "XAmzContentSHA256Mismatch")
        #expect(await code { _ = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-content-sha256", "nonsense")])) } == "InvalidArgument")
        let unsigned = try PayloadIntegrity.prepare(request(data, headers: [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]))
        #expect(try await drain(unsigned) == data)
    }

    @Test("aws-chunked with a trailing checksum: framing removed, checksum verified")
    func chunkedTrailer() async throws {
        let framed = Array("b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n".utf8)
        let headers = [("Content-Encoding", "aws-chunked"), ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                       ("x-amz-decoded-content-length", "11"), ("x-amz-trailer", "x-amz-checksum-crc32"), ("x-amz-sdk-checksum-algorithm", "CRC32")]
        let payload = try PayloadIntegrity.prepare(request(framed, headers: headers))
        #expect(payload.length == 11)
        #expect(try await drain(payload) == data)
        #expect(payload.checksum.flatMap(\.value).map { Base64.encode($0) } == "i9aeUg==")

        let tampered = Array("b\r\nHello World\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n".utf8)
        #expect(await code { _ = try await drain(try PayloadIntegrity.prepare(request(tampered, headers: headers))) } == "BadDigest")
        let missingTrailer = Array("b\r\nHello world\r\n0\r\n\r\n".utf8)
        #expect(await code { _ = try await drain(try PayloadIntegrity.prepare(request(missingTrailer, headers: headers))) } == "MalformedTrailerError")
        var wrongLength = headers
        wrongLength[2] = ("x-amz-decoded-content-length", "12")
        #expect(await code { _ = try await drain(try PayloadIntegrity.prepare(request(framed, headers: wrongLength))) } == "IncompleteBody")
        #expect(await code {
            _ = try PayloadIntegrity.prepare(request(framed, headers: [("Content-Encoding", "aws-chunked"), ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")]))
        } == "MissingContentLength")
    }

    @Test("a request without Content-Length has no declared length")
    func noLength() throws {
        let request = S3Request(method: .put, target: "/b/k", headers: [:], body: .empty)
        #expect(try PayloadIntegrity.prepare(request).length == nil)
    }
}
