import StowageCore
import StowageSigV4
import Testing
import FoundationEssentials

/// The examples of the Amazon S3 API reference, "Signature Calculations for the Authorization
/// Header" (examplebucket, 2013-05-24).
@Suite("SigV4 signing against AWS's published examples")
struct SigV4SignerTests {
    let signer = SigV4Signer(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    let date = S3Timestamp(iso8601: "20130524T000000Z")!

    func signature(_ headers: [(String, String)]) -> String? {
        headers.first { $0.0 == "authorization" }.flatMap { $0.1.components(separatedBy: "Signature=").last }
    }

    @Test("GET Object with a Range header")
    func getObject() {
        let signed = signer.sign(method: "GET", path: "/test.txt", query: [],
                                 headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                 payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(signature(signed) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed.first { $0.0 == "authorization" }?.1.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,") == true)
    }

    @Test("PUT Object with an escaped key and a storage class")
    func putObject() {
        let payload = SHA256.hex(Array("Welcome to Amazon S3.".utf8))
        #expect(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = signer.sign(method: "PUT", path: "/test%24file.text", query: [],
                                 headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                           ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                 payloadHash: payload, date: date)
        #expect(signature(signed) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test("GET Bucket lifecycle (a subresource with an empty value)")
    func getLifecycle() {
        let signed = signer.sign(method: "GET", path: "/", query: [("lifecycle", "")],
                                 headers: [("Host", "examplebucket.s3.amazonaws.com")], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(signature(signed) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test("GET Bucket (list objects) with sorted query parameters")
    func listObjects() {
        let signed = signer.sign(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                 headers: [("Host", "examplebucket.s3.amazonaws.com")], payloadHash: SigV4Signer.emptyPayloadHash, date: date)
        #expect(signature(signed) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test("streaming upload: seed and chained chunk signatures")
    func streamingChunks() {
        let headers = [("Host", "s3.amazonaws.com"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("Content-Encoding", "aws-chunked"),
                       ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824")]
        let seed = signer.sign(method: "PUT", path: "/examplebucket/chunkObject.txt", query: [], headers: headers,
                               payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", date: date)
        let seedSignature = signature(seed)!
        #expect(seedSignature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        let amzDate = "20130524T000000Z"
        let first = signer.chunkSignature(previous: seedSignature, chunkSHA256: SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 65536)), amzDate: amzDate)
        #expect(first == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
        let second = signer.chunkSignature(previous: first, chunkSHA256: SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1024)), amzDate: amzDate)
        #expect(second == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")
        let last = signer.chunkSignature(previous: second, chunkSHA256: SigV4Signer.emptyPayloadHash, amzDate: amzDate)
        #expect(last == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
    }

    @Test func canonicalValues() {
        #expect(SigV4Signer.amzDate(S3Timestamp(millisecondsSinceEpoch: 1_369_353_600_000)) == "20130524T000000Z")
        let (request, signed) = SigV4Signer.canonicalRequest(method: "GET", path: "/a", query: [("b", "x y"), ("a", "1/2")],
                                                              headers: [("X-B", "  two   spaces "), ("host", "h")], payloadHash: "p")
        #expect(request == "GET\n/a\na=1%2F2&b=x%20y\nhost:h\nx-b:two spaces\n\nhost;x-b\np")
        #expect(signed == "host;x-b")
        let (tabs, _) = SigV4Signer.canonicalRequest(method: "GET", path: "/", query: [],
                                                     headers: [("x-a", "\t é  ü\t"), ("x-b", "plain"), ("x-c", " "), ("host", "h")], payloadHash: "p")
        #expect(tabs == "GET\n/\n\nhost:h\nx-a:é ü\nx-b:plain\nx-c:\n\nhost;x-a;x-b;x-c\np")
    }

    @Test func trimmingSpacesOnBytes() {
        #expect("  a b\t".trimmingSpaces() == "a b")
        #expect("\t\t".trimmingSpaces() == "")
        #expect("".trimmingSpaces() == "")
        #expect("ünï".trimmingSpaces() == "ünï")
        #expect(" ünï ".trimmingSpaces() == "ünï")
    }
}
