import Foundation
import HTTPTypes
import StowageCore
import StowageSigV4
import Testing

/// Verification against AWS's published examples (S3 API reference, "Signature Calculations
/// for the Authorization Header", "Query String Authentication", "Transferring Payload in
/// Multiple Chunks" and its trailer variant), then the ways a request must fail.
@Suite("SigV4 verification")
struct SigV4VerifierTests {
    static let accessKey = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    let verifier = SigV4Verifier(
        credentials: StaticCredentials([.init(accessKeyId: accessKey, secretAccessKey: secret)]), region: "us-east-1"
    )
    let signingTime = S3Timestamp(iso8601: "20130524T000000Z")!

    func request(_ method: HTTPRequest.Method, _ target: String, host: String = "examplebucket.s3.amazonaws.com", _ headers: [(String, String)]) -> S3Request {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return S3Request(method: method, target: target, authority: host, headers: fields)
    }

    func authorization(_ signedHeaders: String, _ signature: String) -> (String, String) {
        ("Authorization", "AWS4-HMAC-SHA256 Credential=\(Self.accessKey)/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signedHeaders),Signature=\(signature)")
    }

    var getObject: S3Request {
        request(.get, "/test.txt", [
            ("Range", "bytes=0-9"), ("x-amz-content-sha256", Self.emptyHash), ("x-amz-date", "20130524T000000Z"),
            authorization("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        ])
    }

    func code(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as S3Error {
            return error.code.name
        } catch {
            return "\(error)"
        }
    }

    @Test("GET Object example verifies and names the identity")
    func getObjectVector() throws {
        let verified = try #require(try verifier.verify(getObject, now: signingTime))
        #expect(verified.identity.accessKeyID == Self.accessKey)
        #expect(verified.chunkSignatures == nil)
    }

    @Test("PUT Object example: escaped key, Date and x-amz-date both signed")
    func putObjectVector() throws {
        let request = request(.put, "/test%24file.text", [
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            authorization("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        ])
        #expect(try verifier.verify(request, now: signingTime) != nil)
    }

    @Test("Subresource with an empty value and a listing query")
    func queryVectors() throws {
        let lifecycle = request(.get, "/?lifecycle", [
            ("x-amz-content-sha256", Self.emptyHash), ("x-amz-date", "20130524T000000Z"),
            authorization("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ])
        #expect(try verifier.verify(lifecycle, now: signingTime) != nil)
        // Parameters arrive in any order; the canonical query sorts them.
        let list = request(.get, "/?prefix=J&max-keys=2", [
            ("x-amz-content-sha256", Self.emptyHash), ("x-amz-date", "20130524T000000Z"),
            authorization("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        ])
        #expect(try verifier.verify(list, now: signingTime) != nil)
    }

    static let presignedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    @Test("Presigned GET example: valid inside its window, expired after, not yet valid before")
    func presignedVector() throws {
        let presigned = request(.get, "/test.txt?" + Self.presignedQuery, [])
        #expect(try verifier.verify(presigned, now: signingTime) != nil)
        #expect(try verifier.verify(presigned, now: S3Timestamp(millisecondsSinceEpoch: signingTime.millisecondsSinceEpoch + 86_399_000)) != nil)
        let expired = S3Timestamp(millisecondsSinceEpoch: signingTime.millisecondsSinceEpoch + 86_400_000)
        #expect(throws: S3Error.self) { try verifier.verify(presigned, now: expired) }
        do {
            _ = try verifier.verify(presigned, now: expired)
        } catch let error as S3Error {
            #expect(error.code == .accessDenied)
            #expect(error.message == "Request has expired")
            #expect(error.fields.contains { $0.name == "X-Amz-Expires" && $0.value == "86400" })
        }
        let early = S3Timestamp(millisecondsSinceEpoch: signingTime.millisecondsSinceEpoch - 16 * 60_000)
        do {
            _ = try verifier.verify(presigned, now: early)
            Issue.record("a URL dated 16 minutes ahead was accepted")
        } catch let error as S3Error {
            #expect(error.message == "Request is not yet valid")
        }
    }

    @Test("Presigned URLs longer than a week are refused")
    func presignedTooLong() {
        let query = Self.presignedQuery.replacingOccurrences(of: "X-Amz-Expires=86400", with: "X-Amz-Expires=604801")
        #expect(code { _ = try verifier.verify(request(.get, "/test.txt?" + query, []), now: signingTime) } == "AuthorizationQueryParametersError")
    }

    @Test("Tampering with path, query, a signed header or the host breaks the signature")
    func tampering() {
        let valid = getObject
        var path = valid
        path.rawPath = "/test.txu"
        #expect(code { _ = try verifier.verify(path, now: signingTime) } == "SignatureDoesNotMatch")
        let query = request(.get, "/test.txt?x=1", Array(valid.headers.map { ($0.name.rawName, $0.value) }))
        #expect(code { _ = try verifier.verify(query, now: signingTime) } == "SignatureDoesNotMatch")
        var header = valid
        header.headers[HTTPField.Name("Range")!] = "bytes=0-10"
        #expect(code { _ = try verifier.verify(header, now: signingTime) } == "SignatureDoesNotMatch")
        var host = valid
        host.authority = "otherbucket.s3.amazonaws.com"
        #expect(code { _ = try verifier.verify(host, now: signingTime) } == "SignatureDoesNotMatch")
    }

    @Test("A mismatch reports the canonical request and string to sign, as S3 does")
    func mismatchBody() throws {
        var tampered = getObject
        tampered.headers[HTTPField.Name("Range")!] = "bytes=0-10"
        do {
            _ = try verifier.verify(tampered, now: signingTime)
            Issue.record("accepted")
        } catch let error as S3Error {
            let fields = Dictionary(error.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            #expect(fields["CanonicalRequest"]?.contains("range:bytes=0-10") == true)
            #expect(fields["StringToSign"]?.hasPrefix("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n") == true)
            #expect(fields["AWSAccessKeyId"] == Self.accessKey)
        }
    }

    @Test("Unknown key, wrong region, skewed clock, unsigned host, missing content hash")
    func refusals() {
        let unknown = SigV4Verifier(credentials: StaticCredentials([.init(accessKeyId: "OTHER", secretAccessKey: "x")]), region: "us-east-1")
        #expect(code { _ = try unknown.verify(getObject, now: signingTime) } == "InvalidAccessKeyId")
        let elsewhere = SigV4Verifier(credentials: StaticCredentials([.init(accessKeyId: Self.accessKey, secretAccessKey: Self.secret)]), region: "eu-west-1")
        #expect(code { _ = try elsewhere.verify(getObject, now: signingTime) } == "AuthorizationHeaderMalformed")
        let later = S3Timestamp(millisecondsSinceEpoch: signingTime.millisecondsSinceEpoch + 16 * 60_000)
        #expect(code { _ = try verifier.verify(getObject, now: later) } == "RequestTimeTooSkewed")
        let fine = S3Timestamp(millisecondsSinceEpoch: signingTime.millisecondsSinceEpoch + 14 * 60_000)
        #expect(code { _ = try verifier.verify(getObject, now: fine) } == nil)
        let noHost = request(.get, "/test.txt", [
            ("x-amz-content-sha256", Self.emptyHash), ("x-amz-date", "20130524T000000Z"),
            authorization("x-amz-content-sha256;x-amz-date", String(repeating: "0", count: 64)),
        ])
        #expect(code { _ = try verifier.verify(noHost, now: signingTime) } == "AccessDenied")
        var extra = getObject
        extra.headers[HTTPField.Name("x-amz-acl")!] = "public-read"
        #expect(code { _ = try verifier.verify(extra, now: signingTime) } == "AccessDenied")
        let presignedExtra = request(.get, "/test.txt?" + Self.presignedQuery, [("x-amz-acl", "public-read")])
        #expect(code { _ = try verifier.verify(presignedExtra, now: signingTime) } == "AccessDenied")
        var noHash = getObject
        noHash.headers[HTTPField.Name("x-amz-content-sha256")!] = nil
        #expect(code { _ = try verifier.verify(noHash, now: signingTime) } == "InvalidRequest")
    }

    @Test("Malformed Authorization headers")
    func malformedHeaders() {
        for value in [
            "AWS4-HMAC-SHA256 Credential=\(Self.accessKey)/20130524/us-east-1/s3/aws4_request,Signature=abc",
            "AWS4-HMAC-SHA256 Credential=\(Self.accessKey)/20130524/us-east-1/s3/aws4_request",
            "AWS4-HMAC-SHA256 Credential=\(Self.accessKey)/20130525/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=abc",
            "AWS4-HMAC-SHA256 Credential=\(Self.accessKey)/20130524/us-east-1,SignedHeaders=host,Signature=abc",
        ] {
            let request = request(.get, "/test.txt", [("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", Self.emptyHash), ("Authorization", value)])
            #expect(code { _ = try verifier.verify(request, now: signingTime) } == "AuthorizationHeaderMalformed", "\(value)")
        }
        let bearer = request(.get, "/test.txt", [("Authorization", "Bearer abc")])
        #expect(code { _ = try verifier.verify(bearer, now: signingTime) } == "InvalidArgument")
    }

    @Test("X-Amz-Date parsing agrees with ISO 8601 across leap days and centuries")
    func amzDates() {
        for text in ["19700101T000000Z", "20000229T235959Z", "21000301T000000Z", "20241231T120000Z", "20130524T000000Z"] {
            #expect(SigV4Authorization.parseAMZDate(text) == S3Timestamp(iso8601: text), "\(text)")
        }
        for bad in ["2013-05-24T00:00:00Z", "20130524T000000", "20131324T000000Z", "20130524T250000Z", "2013052xT000000Z", ""] {
            #expect(SigV4Authorization.parseAMZDate(bad) == nil, "\(bad)")
        }
    }

    @Test("No authentication at all is anonymous, not an error")
    func anonymous() throws {
        #expect(try verifier.verify(request(.get, "/test.txt", []), now: signingTime) == nil)
    }

    // MARK: Streaming

    func chunked(trailer: Bool) -> S3Request {
        if trailer {
            return request(.put, "/examplebucket/chunkObject.txt", host: "s3.amazonaws.com", [
                ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"), ("Content-Encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"), ("x-amz-trailer", "x-amz-checksum-crc32c"),
                authorization("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
                              "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"),
            ])
        }
        return request(.put, "/examplebucket/chunkObject.txt", host: "s3.amazonaws.com", [
            ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
            authorization("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
        ])
    }

    func feed(_ chain: any ChunkSignatureChain, size: Int, signature: String) throws {
        try chain.beginChunk(size: size, signature: signature)
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: size)
        // In two pieces: the decoder hands chunk data over as it arrives.
        data.withUnsafeBytes { chain.update(UnsafeRawBufferPointer(rebasing: $0[..<(size / 2)])) }
        data.withUnsafeBytes { chain.update(UnsafeRawBufferPointer(rebasing: $0[(size / 2)...])) }
    }

    @Test("Chunk signatures of the published example chain from the seed")
    func chunkVector() throws {
        let verified = try #require(try verifier.verify(chunked(trailer: false), now: signingTime))
        let chain = try #require(verified.chunkSignatures).makeChain()
        try feed(chain, size: 65536, signature: "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
        try feed(chain, size: 1024, signature: "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")
        try chain.beginChunk(size: 0, signature: "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
        try chain.finish(trailers: [])
    }

    @Test("A wrong chunk signature, or chunks swapped, stops the body")
    func chunkTampering() throws {
        let verified = try #require(try verifier.verify(chunked(trailer: false), now: signingTime))
        let chain = try #require(verified.chunkSignatures).makeChain()
        try feed(chain, size: 65536, signature: "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
        // The second chunk's signature for different bytes: detected when the chunk ends.
        try chain.beginChunk(size: 1024, signature: "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")
        [UInt8](repeating: UInt8(ascii: "b"), count: 1024).withUnsafeBytes { chain.update($0) }
        #expect(throws: S3Error.self) {
            try chain.beginChunk(size: 0, signature: "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
        }
        let unsignedChain = try #require(verified.chunkSignatures).makeChain()
        #expect(throws: S3Error.self) { try unsignedChain.beginChunk(size: 65536, signature: nil) }
        // Missing the final zero-length chunk is also refused.
        let truncated = try #require(verified.chunkSignatures).makeChain()
        try feed(truncated, size: 65536, signature: "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
        #expect(throws: S3Error.self) { try truncated.finish(trailers: []) }
    }

    @Test("The trailer example: chunk chain, then the trailer signature")
    func trailerVector() throws {
        let verified = try #require(try verifier.verify(chunked(trailer: true), now: signingTime))
        let signatures = try #require(verified.chunkSignatures)
        func run(trailerSignature: String, checksum: String) throws {
            let chain = signatures.makeChain()
            try feed(chain, size: 65536, signature: "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2")
            try feed(chain, size: 1024, signature: "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7")
            try chain.beginChunk(size: 0, signature: "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")
            try chain.finish(trailers: [
                .init(name: "x-amz-checksum-crc32c", value: checksum),
                .init(name: "x-amz-trailer-signature", value: trailerSignature),
            ])
        }
        try run(trailerSignature: "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435", checksum: "sOO8/Q==")
        #expect(throws: S3Error.self) {
            try run(trailerSignature: "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435", checksum: "AAAAAA==")
        }
        #expect(throws: S3Error.self) {
            try run(trailerSignature: String(repeating: "0", count: 64), checksum: "sOO8/Q==")
        }
    }
}
