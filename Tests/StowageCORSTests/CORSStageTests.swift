import Foundation
import HTTPTypes
import Logging
import StowageCORS
import StowageCore
import StowageFileStore
import StowageXML
import Synchronization
import Testing

/// The CORS stage in front of a fake `next`, over a real file store and the real XML decoder.
@Suite("CORS stage, with a fake next", .timeLimit(.minutes(1)))
struct CORSStageTests {
    static let owner = S3Identity.forCredential(accessKeyID: "owner")

    final class Counter: Sendable {
        private let value = Mutex(0)
        var count: Int { value.withLock { $0 } }
        var next: S3Next { { _, _ in self.value.withLock { $0 += 1 }; return S3Response(status: .ok) } }
    }

    func withStore(_ body: (FileStoreBackend, CORSStage) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cors-stage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = FileStoreBackend(options: .init(directory: directory))
        try await backend.open()
        _ = try await backend.createBucket("bkt", owner: Self.owner, region: "us-east-1")
        try await body(backend, CORSStage(backend: backend, global: StowageConfiguration.CORS()))
        try await backend.close()
    }

    func context(_ operation: S3Operation) -> S3Context {
        var context = S3Context(requestID: "r", logger: Logger(label: "test"), identity: Self.owner)
        context.operation = operation
        context.documents = LibXMLDocumentDecoder()
        return context
    }

    static func rules(_ origin: String) -> [UInt8] {
        Array("<CORSConfiguration><CORSRule><AllowedOrigin>\(origin)</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>".utf8)
    }

    let preflight = S3Request(method: .options, target: "/bkt/k", headers: [.origin: "http://app.test", .accessControlRequestMethod: "GET"])

    @Test("a preflight is answered here, never by next; refused while the bucket has no rules")
    func preflightAnsweredHere() async throws {
        try await withStore { backend, stage in
            let next = Counter()
            await #expect { try await stage.handle(preflight, context: context(.corsPreflight(bucket: "bkt", key: "k")), next: next.next) } throws: {
                ($0 as? S3Error)?.code == .corsResponse
            }
            try await backend.setBucketConfiguration("bkt", kind: .cors, document: Self.rules("http://app.test"))
            let answer = try await stage.handle(preflight, context: context(.corsPreflight(bucket: "bkt", key: "k")), next: next.next)
            #expect(answer.headers[.accessControlAllowOrigin] == "http://app.test")
            #expect(next.count == 0)
        }
    }

    @Test("actual requests pass to next and are decorated; rules changed behind the stage's back apply at once")
    func decoratesAndFollowsChanges() async throws {
        try await withStore { backend, stage in
            let next = Counter()
            let get = S3Request(method: .get, target: "/bkt/k", headers: [.origin: "http://app.test"])
            let operation = S3Operation.getObject(ObjectAddress(bucket: "bkt", key: "k"))
            try await backend.setBucketConfiguration("bkt", kind: .cors, document: Self.rules("http://app.test"))
            let first = try await stage.handle(get, context: context(operation), next: next.next)
            #expect(first.headers[.accessControlAllowOrigin] == "http://app.test")
            try await backend.setBucketConfiguration("bkt", kind: .cors, document: Self.rules("http://other.test"))
            let second = try await stage.handle(get, context: context(operation), next: next.next)
            #expect(second.headers[.accessControlAllowOrigin] == nil)
            #expect(next.count == 2)
        }
    }
}
