import HTTPTypes
import StowageCore
import StowageRouting
import Testing
import Logging

@Suite("Routing table: method × path × subresource → operation")
struct RoutingTableTests {
    func route(_ method: HTTPRequest.Method, _ target: String, headers: HTTPFields = [:]) throws -> S3Operation {
        try S3RequestRouter.operation(for: S3Request(method: method, target: target, headers: headers))
    }

    let object = ObjectAddress(bucket: "b", key: "k/ey")

    @Test func serviceAndBucketOperations() throws {
        #expect(try route(.get, "/") == .listBuckets)
        #expect(try route(.put, "/b") == .createBucket(bucket: "b"))
        #expect(try route(.put, "/b/") == .createBucket(bucket: "b"))
        #expect(try route(.delete, "/b") == .deleteBucket(bucket: "b"))
        #expect(try route(.head, "/b") == .headBucket(bucket: "b"))
        #expect(try route(.get, "/b?location") == .getBucketLocation(bucket: "b"))
        #expect(try route(.get, "/b") == .listObjects(bucket: "b"))
        #expect(try route(.get, "/b?prefix=a&marker=b") == .listObjects(bucket: "b"))
        #expect(try route(.get, "/b?list-type=2") == .listObjectsV2(bucket: "b"))
        #expect(try route(.get, "/b?versions") == .listObjectVersions(bucket: "b"))
        #expect(try route(.get, "/b?uploads") == .listMultipartUploads(bucket: "b"))
        #expect(try route(.post, "/b?delete") == .deleteObjects(bucket: "b"))
        #expect(try route(.get, "/b?policy") == .getBucketSubresource(bucket: "b", .policy))
        #expect(try route(.put, "/b?cors") == .putBucketSubresource(bucket: "b", .cors))
        #expect(try route(.delete, "/b?tagging") == .deleteBucketSubresource(bucket: "b", .tagging))
        #expect(try route(.get, "/b?policyStatus") == .getBucketSubresource(bucket: "b", .policyStatus))
        #expect(try route(.get, "/b?versioning") == .getBucketSubresource(bucket: "b", .versioning))
        #expect(try route(.post, "/b", headers: [.contentType: "multipart/form-data; boundary=x"]) == .postObject(bucket: "b"))
        // Any other bucket POST is an upload too; the handler answers 412 for a body that is not a form.
        #expect(try route(.post, "/b") == .postObject(bucket: "b"))
        #expect(try route(.get, "/b?session") == .unsupported(name: "CreateSession", bucket: "b"))
    }

    @Test func objectOperations() throws {
        #expect(try route(.put, "/b/k/ey") == .putObject(object))
        #expect(try route(.get, "/b/k/ey") == .getObject(object))
        #expect(try route(.get, "/b/k/ey?response-content-type=x") == .getObject(object))
        #expect(try route(.head, "/b/k/ey") == .headObject(object))
        #expect(try route(.delete, "/b/k/ey") == .deleteObject(object))
        #expect(try route(.put, "/b/k/ey", headers: [.amzCopySource: "/src/a%20b"]) == .copyObject(object, source: CopySource(address: ObjectAddress(bucket: "src", key: "a b"))))
        #expect(try route(.post, "/b/k/ey?uploads") == .createMultipartUpload(object))
        #expect(try route(.put, "/b/k/ey?partNumber=3&uploadId=u1") == .uploadPart(object, uploadID: "u1", partNumber: 3))
        #expect(try route(.put, "/b/k/ey?partNumber=3&uploadId=u1", headers: [.amzCopySource: "src/x"]) ==
                .uploadPartCopy(object, uploadID: "u1", partNumber: 3, source: CopySource(address: ObjectAddress(bucket: "src", key: "x"))))
        #expect(try route(.post, "/b/k/ey?uploadId=u1") == .completeMultipartUpload(object, uploadID: "u1"))
        #expect(try route(.delete, "/b/k/ey?uploadId=u1") == .abortMultipartUpload(object, uploadID: "u1"))
        #expect(try route(.get, "/b/k/ey?uploadId=u1") == .listParts(object, uploadID: "u1"))
        #expect(try route(.get, "/b/k/ey?tagging") == .getObjectSubresource(object, .tagging))
        #expect(try route(.put, "/b/k/ey?acl") == .putObjectSubresource(object, .acl))
        #expect(try route(.delete, "/b/k/ey?tagging") == .deleteObjectSubresource(object, .tagging))
        #expect(try route(.post, "/b/k/ey?restore") == .postObjectSubresource(object, .restore))
        #expect(try route(.options, "/b/k/ey") == .corsPreflight(bucket: "b", key: "k/ey"))
    }

    @Test("keys are percent-decoded exactly; + stays +")
    func keyDecoding() throws {
        #expect(try route(.get, "/b/a%20b+c%2Bd") == .getObject(ObjectAddress(bucket: "b", key: "a b+c+d")))
        #expect(try route(.get, "/b/%2E%2E/x") == .getObject(ObjectAddress(bucket: "b", key: "../x")))
        #expect(try route(.get, "/b//lead") == .getObject(ObjectAddress(bucket: "b", key: "/lead")))
        #expect(try route(.get, "/b/trail/") == .getObject(ObjectAddress(bucket: "b", key: "trail/")))
        #expect(try route(.get, "/b/%E6%97%A5%F0%9F%A6%A4") == .getObject(ObjectAddress(bucket: "b", key: "日🦤")))
    }

    @Test("errors: bad URIs, bad part numbers, methods S3 does not allow")
    func errors() {
        func code(_ method: HTTPRequest.Method, _ target: String, headers: HTTPFields = [:]) -> String? {
            do { _ = try route(method, target, headers: headers); return nil } catch let error as S3Error { return error.code.name } catch { return "\(error)" }
        }
        #expect(code(.get, "/b/%zz") == "InvalidURI")
        #expect(code(.get, "/b/%FF") == "InvalidURI")
        #expect(code(.get, "nopath") == "InvalidURI")
        #expect(code(.put, "/b/k?partNumber=0&uploadId=u") == "InvalidArgument")
        #expect(code(.put, "/b/k?partNumber=10001&uploadId=u") == "InvalidArgument")
        #expect(code(.put, "/b/k?partNumber=x&uploadId=u") == "InvalidArgument")
        #expect(code(.get, "/b?list-type=3") == "InvalidArgument")
        #expect(code(.patch, "/b/k") == "MethodNotAllowed")
        #expect(code(.post, "/b/k") == "MethodNotAllowed")
        #expect(code(.put, "/") == "MethodNotAllowed")
        #expect(code(.put, "/b/k", headers: [.amzCopySource: "nokey"]) == "InvalidArgument")
        #expect(code(.put, "/b/k", headers: [.amzCopySource: "/bucket/"]) == "InvalidArgument")
    }

    @Test func copySourceForms() throws {
        #expect(try S3RequestRouter.copySource("bucket/key") == CopySource(address: ObjectAddress(bucket: "bucket", key: "key")))
        #expect(try S3RequestRouter.copySource("/bucket/a/b%2Bc%20d") == CopySource(address: ObjectAddress(bucket: "bucket", key: "a/b+c d")))
        #expect(try S3RequestRouter.copySource("/bucket/key?versionId=abc") == CopySource(address: ObjectAddress(bucket: "bucket", key: "key"), versionID: "abc"))
        #expect(try S3RequestRouter.copySource("/bucket/%3Fq") == CopySource(address: ObjectAddress(bucket: "bucket", key: "?q")))
    }

    @Test("the routing stage stores the operation in the context")
    func stage() async throws {
        let stage = RoutingStage()
        let context = S3Context(requestID: "r", logger: .init(label: "t"), identity: .anonymous)
        let response = try await stage.handle(S3Request(method: .get, target: "/b/k"), context: context) { _, context in
            #expect(context.operation == .getObject(ObjectAddress(bucket: "b", key: "k")))
            return S3Response(status: .accepted)
        }
        #expect(response.status == .accepted)
    }
}
