import Foundation
import NIOCore
import StowageCore
import StowageXML
import Testing
import Logging
import HTTPTypes

@Suite("XML rendering and parsing through libxml2")
struct XMLDocumentTests {
    func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }
    let decoder = LibXMLDocumentDecoder()

    @Test func listBucketV2Rendering() throws {
        let result = ListBucketV2Result(
            name: "b", prefix: "p/", maxKeys: 2, keyCount: 2, delimiter: "/", isTruncated: true, continuationToken: nil,
            nextContinuationToken: "tok", startAfter: nil,
            contents: [ListedObject(key: "p/a&b<c>\"d'", lastModified: S3Timestamp(millisecondsSinceEpoch: 0), etag: "\"e\"", size: 3)],
            commonPrefixes: ["p/q/"], encodingType: nil
        )
        let xml = text(S3DocumentRenderer.render(.listBucketV2(result)))
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"))
        #expect(xml.contains("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"))
        // Quotes in text are escaped as S3 writes them (`&quot;`).
        #expect(xml.contains("<Key>p/a&amp;b&lt;c&gt;&quot;d'</Key>"))
        #expect(xml.contains("<LastModified>1970-01-01T00:00:00.000Z</LastModified>"))
        #expect(xml.contains("<ETag>&quot;e&quot;</ETag>"))
        #expect(xml.contains("<KeyCount>2</KeyCount>"))
        #expect(xml.contains("<IsTruncated>true</IsTruncated>"))
        #expect(xml.contains("<NextContinuationToken>tok</NextContinuationToken>"))
        #expect(xml.contains("<CommonPrefixes><Prefix>p/q/</Prefix></CommonPrefixes>"))
        #expect(!xml.contains("ContinuationToken>nil"))
        // The document is well-formed: an independent parser reads the key back.
        let parsed = try XMLDocumentParser.parse(ByteBuffer(string: xml))
        #expect(parsed.child("Contents")?.child("Key")?.text == "p/a&b<c>\"d'")
    }

    @Test("control characters become numeric references; CR survives")
    func controlCharacters() throws {
        let xml = text(S3DocumentRenderer.render(.deleteResult(DeleteResult(deleted: [.init(key: "a\u{01}b\rc\td")], errors: []))))
        #expect(xml.contains("<Key>a&#x1;b&#13;c\td</Key>"))
    }

    @Test func errorDocument() {
        let error = S3Error(.noSuchKey, resource: "/b/k").with("Key", "k")
        let xml = text(S3DocumentRenderer.renderError(error, requestID: "REQ1"))
        #expect(xml.contains("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key><Resource>/b/k</Resource><RequestId>REQ1</RequestId>"))
    }

    @Test func otherDocuments() {
        let owner = S3Owner(id: "id1", displayName: "me")
        let buckets = text(S3DocumentRenderer.render(.listAllMyBuckets(ListAllMyBucketsResult(owner: owner, buckets: [
            BucketInfo(name: "b1", creationDate: S3Timestamp(millisecondsSinceEpoch: 0), ownerID: "id1", region: "us-east-1"),
        ]))))
        #expect(buckets.contains("<Owner><ID>id1</ID><DisplayName>me</DisplayName></Owner><Buckets><Bucket><Name>b1</Name><CreationDate>1970-01-01T00:00:00.000Z</CreationDate>"))
        #expect(text(S3DocumentRenderer.render(.locationConstraint(LocationConstraintResult(region: nil)))).contains("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"))
        #expect(text(S3DocumentRenderer.render(.locationConstraint(LocationConstraintResult(region: "eu-west-1")))).contains(">eu-west-1</LocationConstraint>"))
        let copy = text(S3DocumentRenderer.render(.copyObject(CopyObjectResult(etag: "abc", lastModified: S3Timestamp(millisecondsSinceEpoch: 0)))))
        #expect(copy.contains("<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>1970-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag></CopyObjectResult>"))
        let v1 = text(S3DocumentRenderer.render(.listBucket(ListBucketResult(name: "b", prefix: "", marker: "", nextMarker: "m", maxKeys: 1000, delimiter: "/", isTruncated: true, contents: [], commonPrefixes: [], encodingType: "url"))))
        #expect(v1.contains("<NextMarker>m</NextMarker>") && v1.contains("<EncodingType>url</EncodingType>") && v1.contains("<Marker></Marker>"))
    }

    @Test func deleteObjectsParsing() throws {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Quiet>true</Quiet>
              <Object><Key>a&amp;b</Key></Object>
              <Object><Key> spaced </Key><VersionId>v1</VersionId></Object>
              <Object><Key><![CDATA[<cdata>]]></Key></Object>
              <Object><Key>cr&#13;lf</Key></Object>
            </Delete>
            """
        let request = try decoder.decodeDeleteObjects(ByteBuffer(string: body))
        #expect(request.quiet)
        #expect(request.objects == [
            .init(key: "a&b"), .init(key: " spaced ", versionID: "v1"), .init(key: "<cdata>"), .init(key: "cr\rlf"),
        ])
        let loud = try decoder.decodeDeleteObjects(ByteBuffer(string: "<Delete><Object><Key>x</Key></Object></Delete>"))
        #expect(!loud.quiet)
    }

    @Test("malformed or hostile documents are MalformedXML", arguments: [
        "", "not xml", "<Delete>", "<Delete><Object><Key>x</Key></Object>", "<Other/>", "<Delete><Object></Object></Delete>",
        "<Delete><Quiet>maybe</Quiet><Object><Key>x</Key></Object></Delete>", "<Delete/><Delete/>",
        #"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object></Delete>"#,
        #"<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>"#,
        String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
    ])
    func malformed(body: String) {
        #expect { try decoder.decodeDeleteObjects(ByteBuffer(string: body)) } throws: { ($0 as? S3Error)?.code == .malformedXML }
    }

    @Test func createBucketConfiguration() throws {
        let parsed = try decoder.decodeCreateBucketConfiguration(ByteBuffer(string: "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"))
        #expect(parsed.locationConstraint == "eu-west-1")
        let empty = try decoder.decodeCreateBucketConfiguration(ByteBuffer(string: "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"))
        #expect(empty.locationConstraint == nil)
    }

    @Test("the XML stage renders thrown errors and typed results")
    func stage() async throws {
        let stage = XMLStage()
        let context = S3Context(requestID: "RID", logger: .init(label: "t"), identity: .anonymous)
        let failed = try await stage.handle(S3Request(method: .get, target: "/b/k"), context: context) { _, _ in throw S3Error(.noSuchBucket) }
        #expect(failed.status.code == 404)
        #expect(failed.headers[.contentType] == "application/xml")
        guard case .bytes(let body) = failed.body else { Issue.record("expected bytes"); return }
        #expect(String(buffer: body).contains("<Resource>/b/k</Resource><RequestId>RID</RequestId>"))

        let head = try await stage.handle(S3Request(method: .head, target: "/b/k"), context: context) { _, _ in throw S3Error(.noSuchKey) }
        #expect(head.status.code == 404)
        guard case .empty = head.body else { Issue.record("HEAD errors carry no body"); return }

        let crashed = try await stage.handle(S3Request(method: .get, target: "/"), context: context) { _, _ in throw CancellationError() }
        #expect(crashed.status.code == 500)

        let rendered = try await stage.handle(S3Request(method: .get, target: "/"), context: context) { _, _ in
            .document(.locationConstraint(LocationConstraintResult(region: nil)))
        }
        guard case .bytes = rendered.body else { Issue.record("documents are rendered"); return }
        #expect(rendered.headers[.contentLength] != nil)
    }
}
