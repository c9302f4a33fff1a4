import HTTPTypes
import NIOCore
import Synchronization
import StowageCore
import Testing
import Logging
import Foundation

/// Records the order stages see the request and the response.
private struct RecordingStage: S3Stage {
    let name: String
    let log: Log

    func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        log.append("\(name) in")
        var response = try await next(request, context)
        log.append("\(name) out")
        response.headers[.init("x-\(name)")!] = "seen"
        return response
    }
}

private struct ShortCircuitStage: S3Stage {
    func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        S3Response(status: .noContent)
    }
}

private final class Log: Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

private struct Responder: S3Responder {
    let log: Log
    func respond(to request: S3Request, context: S3Context) async throws -> S3Response {
        log.append("responder")
        return S3Response(status: .ok)
    }
}

/// Notes whether the body was verified when the request reached it, and what it reads.
private struct ObservingStage: S3Stage {
    let name: String
    let role: S3StageRole
    let log: Log

    func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        log.append("\(name) \(request.payload == nil ? "raw" : "verified")")
        return try await next(request, context)
    }
}

/// Reads the whole body the way a handler does, and records it.
private struct BodyReader: S3Responder {
    let log: Log
    func respond(to request: S3Request, context: S3Context) async throws -> S3Response {
        let payload = try request.verifiedPayload()
        var body = try await request.body.collect(upTo: 1 << 20, orThrow: S3Error(.maxMessageLengthExceeded))
        log.append("body \(body.readString(length: body.readableBytes) ?? "") length \(payload.length.map(String.init) ?? "-")")
        if let checksum = payload.checksum?.value { log.append("checksum \(Base64.encode(checksum))") }
        return S3Response(status: .ok)
    }
}

@Suite("Pipeline folding")
struct PipelineTests {
    let context: S3Context = {
        var context = S3Context(requestID: "r", logger: .init(label: "test"), identity: .anonymous)
        context.operation = .putObject(ObjectAddress(bucket: "bkt", key: "k"))
        return context
    }()

    @Test("the first stage is outermost")
    func order() async throws {
        let log = Log()
        let pipeline = S3Pipeline(stages: [RecordingStage(name: "a", log: log), RecordingStage(name: "b", log: log)], responder: Responder(log: log))
        let response = try await pipeline.handle(S3Request(method: .get, target: "/"), context: context)
        #expect(log.all == ["a in", "b in", "responder", "b out", "a out"])
        #expect(response.headers[.init("x-a")!] == "seen")
        #expect(response.headers[.init("x-b")!] == "seen")
    }

    @Test("a stage can answer without calling next")
    func shortCircuit() async throws {
        let log = Log()
        let pipeline = S3Pipeline(stages: [RecordingStage(name: "a", log: log), ShortCircuitStage(), RecordingStage(name: "c", log: log)], responder: Responder(log: log))
        let response = try await pipeline.handle(S3Request(method: .get, target: "/"), context: context)
        #expect(response.status == .noContent)
        #expect(log.all == ["a in", "a out"])
    }

    static let framed = "b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n"
    static let chunkedHeaders: HTTPFields = [
        .contentEncoding: "aws-chunked", .amzContentSHA256: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        .amzDecodedContentLength: "11", HTTPField.Name("x-amz-trailer")!: "x-amz-checksum-crc32",
    ]

    func chunkedPut() -> S3Request {
        S3Request(method: .put, target: "/b/k", headers: Self.chunkedHeaders, body: S3Body(ByteBuffer(string: Self.framed)))
    }

    @Test("the body is verified once, right after the last authenticating stage")
    func verifiedAfterAuthentication() async throws {
        let log = Log()
        let stages: [any S3Stage] = [
            ObservingStage(name: "routing", role: .other, log: log), ObservingStage(name: "auth", role: .authentication, log: log),
            ObservingStage(name: "cors", role: .other, log: log), ObservingStage(name: "policy", role: .authorization, log: log),
        ]
        _ = try await S3Pipeline(stages: stages, responder: BodyReader(log: log)).handle(chunkedPut(), context: context)
        #expect(log.all == ["routing raw", "auth raw", "cors verified", "policy verified", "body Hello world length 11", "checksum i9aeUg=="])
    }

    @Test("without an authenticating stage, before the first authorizing one; without either, before the responder")
    func verificationPlacement() async throws {
        let log = Log()
        let withPolicy: [any S3Stage] = [ObservingStage(name: "a", role: .other, log: log), ObservingStage(name: "policy", role: .authorization, log: log)]
        _ = try await S3Pipeline(stages: withPolicy, responder: BodyReader(log: log)).handle(chunkedPut(), context: context)
        #expect(log.all.prefix(2) == ["a raw", "policy verified"])

        let plain = Log()
        _ = try await S3Pipeline(stages: [ObservingStage(name: "a", role: .other, log: plain)], responder: BodyReader(log: plain)).handle(chunkedPut(), context: context)
        #expect(plain.all == ["a raw", "body Hello world length 11", "checksum i9aeUg=="])

        let bare = Log()
        _ = try await S3Pipeline(stages: [], responder: BodyReader(log: bare)).handle(chunkedPut(), context: context)
        #expect(bare.all.first == "body Hello world length 11")
    }

    @Test("a body that fails verification fails as it is read, whatever reads it")
    func tamperedBodyFails() async throws {
        var tampered = chunkedPut()
        tampered.body = S3Body(ByteBuffer(string: Self.framed.replacingOccurrences(of: "world", with: "World")))
        await #expect(throws: S3Error.self) {
            _ = try await S3Pipeline(stages: [], responder: BodyReader(log: Log())).handle(tampered, context: context)
        }
    }

    @Test("verifying twice changes nothing; bodiless methods keep their body")
    func verifyIsIdempotent() async throws {
        var request = chunkedPut()
        try PayloadIntegrity.verify(&request, context: context)
        try PayloadIntegrity.verify(&request, context: context)
        var body = try await request.body.collect(upTo: 1024, orThrow: S3Error(.maxMessageLengthExceeded))
        #expect(body.readString(length: body.readableBytes) == "Hello world")

        var get = S3Request(method: .get, target: "/b/k", headers: [.amzContentSHA256: "nonsense"])
        try PayloadIntegrity.verify(&get, context: context)
        let getPayload = try #require(get.payload)
        #expect(getPayload.checksum == nil)

        let unverified = S3Request(method: .put, target: "/b/k")
        #expect(throws: S3Error.self) { try unverified.verifiedPayload() }
    }

    @Test("CompleteMultipartUpload's checksum headers describe the object, not its XML; a PostObject form is left to the dispatcher")
    func operationsWhoseHeadersDescribeSomethingElse() async throws {
        let xml = "<CompleteMultipartUpload/>"
        var complete = S3Request(method: .post, target: "/b/k?uploadId=u", headers: [HTTPField.Name("x-amz-checksum-crc32")!: "AAAAAA=="],
                                 body: S3Body(ByteBuffer(string: xml)))
        var completing = context
        completing.operation = .completeMultipartUpload(ObjectAddress(bucket: "bkt", key: "k"), uploadID: "u")
        try PayloadIntegrity.verify(&complete, context: completing)
        #expect(complete.payload?.checksum == nil)
        var body = try await complete.body.collect(upTo: 1024, orThrow: S3Error(.maxMessageLengthExceeded))
        #expect(body.readString(length: body.readableBytes) == xml, "not refused as a BadDigest of the XML")

        var form = S3Request(method: .post, target: "/b", headers: [.amzContentSHA256: "0000"], body: S3Body(ByteBuffer(string: "--x--")))
        var posting = context
        posting.operation = .postObject(bucket: "bkt")
        try PayloadIntegrity.verify(&form, context: posting)
        #expect(form.payload != nil)
    }

    @Test("a body reaching verification before routing is an error, not a guess")
    func verificationNeedsTheOperation() throws {
        var put = chunkedPut()
        let unrouted = S3Context(requestID: "r", logger: .init(label: "test"), identity: .anonymous)
        #expect { try PayloadIntegrity.verify(&put, context: unrouted) } throws: { ($0 as? S3Error)?.code == .internalError }
    }

    @Test("the error table is consistent")
    func errorTable() {
        let names = S3ErrorCode.allKnown.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(S3ErrorCode.allKnown.allSatisfy { (300..<600).contains($0.status) && !$0.message.isEmpty })
        #expect(S3ErrorCode.noSuchKey.status == 404)
        #expect(S3ErrorCode.bucketNotEmpty.status == 409)
        #expect(S3ErrorCode.notImplemented.status == 501)
        #expect(S3ErrorCode.invalidRange.status == 416)
        #expect(S3ErrorCode.methodNotAllowed.status == 405)
    }

    @Test("operation names and IAM actions")
    func operationNames() {
        let address = ObjectAddress(bucket: "b", key: "k")
        #expect(S3Operation.listObjectsV2(bucket: "b").iamAction == "s3:ListBucket")
        #expect(S3Operation.headObject(address).iamAction == "s3:GetObject")
        #expect(S3Operation.uploadPart(address, uploadID: "u", partNumber: 1).iamAction == "s3:PutObject")
        #expect(S3Operation.getBucketSubresource(bucket: "b", .policy).name == "GetBucketPolicy")
        #expect(S3Operation.getBucketSubresource(bucket: "b", .cors).iamAction == "s3:GetBucketCORS")
        #expect(S3Operation.deleteObjects(bucket: "b").iamAction == "s3:DeleteObject")
        #expect(S3Operation.copyObject(address, source: CopySource(address: address)).bucket == "b")
    }
}
