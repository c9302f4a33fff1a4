import Synchronization
import StowageCore
import Testing

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

@Suite("Pipeline folding")
struct PipelineTests {
    let context = S3Context(requestID: "r", logger: .init(label: "test"), identity: .anonymous)

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
