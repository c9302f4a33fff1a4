import HTTPTypes
import NIOCore
import StowageCore
import Testing
@testable import StowageQUIC

/// The mapping of cluster requests and responses to HTTP/3 heads, both ways.
@Suite struct HTTP3HeadTests {
    @Test func aRequestHeadRoundTrips() throws {
        var fields = HTTPFields()
        fields[ClusterRequest.epoch] = "7"
        fields[HTTPField.Name("Stowage-Drive")!] = "3f2a"
        let request = ClusterRequest(verb: "read", resource: "drive/3f2a/obj/b1/a b/ü%/x", fields: fields, body: S3Body(ByteBuffer(bytes: [1, 2])))
        let head = HTTP3Head.request(request, authority: "node-2")
        #expect(head.prefix(4).map(\.0) == [":method", ":scheme", ":authority", ":path"])
        #expect(head.allSatisfy { $0.0 == $0.0.lowercased() })
        let path = try #require(head.first { $0.0 == ":path" }?.1)
        #expect(path.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f })
        let parsed = try #require(HTTP3Head.parseRequest(head.map { (name: $0.0, value: $0.1) }))
        #expect(parsed.verb == "read")
        #expect(parsed.resource == "drive/3f2a/obj/b1/a b/ü%/x")
        #expect(parsed.fields[ClusterRequest.epoch] == "7")
        #expect(parsed.fields[HTTPField.Name("stowage-drive")!] == "3f2a")
        #expect(parsed.length == 2)
    }

    @Test func aResponseHeadRoundTrips() throws {
        let response = ClusterResponse(status: .notFound, fields: [HTTPField.Name("x-a")!: "b"], body: .empty)
        let head = HTTP3Head.response(response)
        let parsed = try #require(HTTP3Head.parseResponse(head.map { (name: $0.0, value: $0.1) }))
        #expect(parsed.status == .notFound)
        #expect(parsed.fields[HTTPField.Name("x-a")!] == "b")
        #expect(parsed.length == 0)
    }

    @Test func headsThatAreNotOursAreRefused() {
        #expect(HTTP3Head.parseRequest([(name: ":path", value: "/only-a-verb")]) == nil)
        #expect(HTTP3Head.parseRequest([(name: ":path", value: "/v/%zz")]) == nil)
        #expect(HTTP3Head.parseRequest([(name: ":method", value: "POST")]) == nil)
        #expect(HTTP3Head.parseResponse([(name: ":status", value: "abc")]) == nil)
        #expect(HTTP3Head.parseResponse([(name: ":status", value: "99")]) == nil)
    }
}
