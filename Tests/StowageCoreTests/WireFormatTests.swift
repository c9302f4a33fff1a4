import StowageCore
import Testing
import HTTPTypes

@Suite("Percent-encoding, query parsing, timestamps, ranges")
struct WireFormatTests {
    @Test func pathDecoding() {
        #expect(PercentEncoding.decodePath("a%20b+c".utf8) == "a b+c")
        #expect(PercentEncoding.decodePath("%E6%97%A5".utf8) == "日")
        #expect(PercentEncoding.decodePath("%2".utf8) == nil)
        #expect(PercentEncoding.decodePath("%zz".utf8) == nil)
        #expect(PercentEncoding.decodePath("%FF".utf8) == nil, "invalid UTF-8 is refused")
    }

    @Test func queryParsing() {
        let query = QueryParameters(raw: "list-type=2&prefix=a%2Fb+c&delimiter=%2F&uploads&empty=&x=1&x=2")
        #expect(query["list-type"] == "2")
        #expect(query["prefix"] == "a/b c")
        #expect(query["delimiter"] == "/")
        #expect(query["uploads"] == "")
        #expect(query.contains("uploads"))
        #expect(query["empty"] == "")
        #expect(query["x"] == "1")
        #expect(query["missing"] == nil)
        #expect(QueryParameters(raw: "a=%zz")["a"] == "%zz", "malformed escapes are kept literally")
    }

    @Test func requestTarget() {
        let request = S3Request(method: .get, target: "/bucket/key%20x?versionId=3")
        #expect(request.rawPath == "/bucket/key%20x")
        #expect(request.rawQuery == "versionId=3")
        #expect(request.query["versionId"] == "3")
        #expect(S3Request(method: .get, target: "/", authority: "bucket.localhost:9000").host == "bucket.localhost")
        #expect(S3Request(method: .get, target: "/", authority: "[::1]:9000").host == "[::1]")
    }

    @Test func listingEncoding() {
        #expect(PercentEncoding.encodeURLComponentKeepingSlash("a b/c+d%é") == "a%20b/c%2Bd%25%C3%A9")
    }

    @Test func timestamps() {
        let epoch = S3Timestamp(millisecondsSinceEpoch: 0)
        #expect(epoch.iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(epoch.httpDate == "Thu, 01 Jan 1970 00:00:00 GMT")
        let moment = S3Timestamp(millisecondsSinceEpoch: 1_255_369_830_123)
        #expect(moment.iso8601 == "2009-10-12T17:50:30.123Z")
        #expect(moment.httpDate == "Mon, 12 Oct 2009 17:50:30 GMT")
        // RFC 7231 §7.1.1.1: all three forms parse to the same instant.
        let expected = S3Timestamp(millisecondsSinceEpoch: 784_111_777_000)
        #expect(S3Timestamp(httpDate: "Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(S3Timestamp(httpDate: "Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(S3Timestamp(httpDate: "Sun Nov  6 08:49:37 1994") == expected)
        #expect(S3Timestamp(httpDate: "not a date") == nil)
        #expect(S3Timestamp(iso8601: "20091012T175030Z") == S3Timestamp(millisecondsSinceEpoch: 1_255_369_830_000))
        #expect(S3Timestamp(iso8601: "2009-10-12T17:50:30.123Z") == moment)
    }

    @Test(arguments: [
        ("bytes=0-9", RangeRequest.fromTo(0, 9)),
        ("bytes=5-", RangeRequest.from(5)),
        ("bytes=-3", RangeRequest.suffix(3)),
        (" bytes=1-2 ", RangeRequest.fromTo(1, 2)),
    ])
    func rangeParsing(header: String, expected: RangeRequest) {
        #expect(RangeRequest(header: header) == expected)
    }

    @Test(arguments: ["bytes=9-1", "bytes=0-1,3-4", "items=0-1", "bytes=a-b", "bytes=-", "bytes=-1-2"])
    func rangesS3Ignores(header: String) {
        #expect(RangeRequest(header: header) == nil)
    }

    @Test func rangeResolution() {
        #expect(RangeRequest.fromTo(0, 9).resolve(size: 5) == ByteRange(first: 0, last: 4))
        #expect(RangeRequest.from(5).resolve(size: 5) == nil)
        #expect(RangeRequest.suffix(10).resolve(size: 4) == ByteRange(first: 0, last: 3))
        #expect(RangeRequest.suffix(0).resolve(size: 4) == nil)
        #expect(RangeRequest.fromTo(0, 0).resolve(size: 0) == nil)
    }

    @Test func readConditionPrecedence() {
        let modified = S3Timestamp(millisecondsSinceEpoch: 1_000_000_500)
        let before = S3Timestamp(millisecondsSinceEpoch: 999_000_000)
        let after = S3Timestamp(millisecondsSinceEpoch: 1_001_000_000)
        func outcome(_ conditions: ReadConditions) -> ReadConditions.Outcome {
            conditions.evaluate(etag: "abc", lastModified: modified)
        }
        #expect(outcome(ReadConditions()) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: ["\"abc\""])) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: ["W/\"abc\""])) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: ["\"x\"", "*"])) == .proceed)
        #expect(outcome(ReadConditions(ifMatch: ["\"x\""])) == .preconditionFailed(condition: "If-Match"))
        #expect(outcome(ReadConditions(ifUnmodifiedSince: before)) == .preconditionFailed(condition: "If-Unmodified-Since"))
        #expect(outcome(ReadConditions(ifMatch: ["\"abc\""], ifUnmodifiedSince: before)) == .proceed)
        #expect(outcome(ReadConditions(ifNoneMatch: ["\"abc\""])) == .notModified)
        #expect(outcome(ReadConditions(ifModifiedSince: after)) == .notModified)
        // Whole seconds: modified at ...000.5 s is not after ...000 s.
        #expect(outcome(ReadConditions(ifModifiedSince: S3Timestamp(millisecondsSinceEpoch: 1_000_000_000))) == .notModified)
        #expect(outcome(ReadConditions(ifNoneMatch: ["\"x\""], ifModifiedSince: after)) == .proceed)
        #expect(ReadConditions(ifNoneMatch: ["\"abc\""]).evaluate(etag: "abc", lastModified: modified, isReadMethod: false) == .preconditionFailed(condition: "If-None-Match"))
    }

    @Test func bucketNames() {
        for valid in ["abc", "my-bucket", "my.bucket.name", "a1b", String(repeating: "a", count: 63), "1.2.3"] {
            #expect(BucketNames.isValid(valid), "\(valid)")
        }
        for invalid in ["ab", String(repeating: "a", count: 64), "UPPER", "under_score", "-abc", "abc-", ".abc", "a..b", "192.168.5.4",
                        "xn--abc", "sthree-x", "amzn-s3-demo-x", "abc-s3alias", "abc--ol-s3", "abc.mrap", "abc--x-s3", "abc--table-s3", "a b", "ab/c"] {
            #expect(!BucketNames.isValid(invalid), "\(invalid)")
        }
    }

    @Test func objectKeys() throws {
        try ObjectKeys.validate(String(repeating: "k", count: 1024))
        #expect(throws: S3Error.self) { try ObjectKeys.validate(String(repeating: "k", count: 1025)) }
        #expect(throws: S3Error.self) { try ObjectKeys.validate(String(repeating: "é", count: 513)) }
    }
}

@Suite struct KeyBytesTests {
    @Test func successorIsJustPastEveryKeyWithThePrefix() {
        #expect(KeyBytes.successor(of: Array("photos/".utf8)) == Array("photos0".utf8))
        #expect(KeyBytes.successor(of: [0x61, 0xFF, 0xFF]) == [0x62])
        #expect(KeyBytes.successor(of: [0xFF]) == nil)
        #expect(KeyBytes.successor(of: []) == nil)
    }

    @Test func endOfFirstDelimiter() {
        #expect(KeyBytes.endOfFirst(Array("/".utf8), in: Array("a/b/c".utf8), from: 0) == 2)
        #expect(KeyBytes.endOfFirst(Array("/".utf8), in: Array("a/b/c".utf8), from: 2) == 4)
        #expect(KeyBytes.endOfFirst(Array("::".utf8), in: Array("a:b::c".utf8), from: 0) == 5)
        #expect(KeyBytes.endOfFirst(Array("/".utf8), in: Array("abc".utf8), from: 0) == nil)
        #expect(KeyBytes.endOfFirst([], in: Array("abc".utf8), from: 0) == nil)
    }
}
