import Foundation
import HTTPTypes
import Logging
import StowageBackendConformance
import StowageCore
import StowageFileStore
import StowagePolicy
import Synchronization
import Testing

/// The policy stage in front of a fake `next`, over a real file store in a temporary directory.
@Suite("Policy stage, with a fake next", .timeLimit(.minutes(1)))
struct PolicyStageTests {
    final class Probe: Sendable {
        private let seen = Mutex<[S3Context]>([])
        var calls: Int { seen.withLock { $0.count } }
        var last: S3Context? { seen.withLock { $0.last } }
        /// `next` answers NoSuchKey for `missing`, 200 otherwise.
        func next(missing: String? = nil) -> S3Next {
            { request, context in
                self.seen.withLock { $0.append(context) }
                if let missing, request.rawPath.hasSuffix("/\(missing)") { throw S3Error(.noSuchKey) }
                return S3Response(status: .ok)
            }
        }
    }

    static let owner = S3Identity.forCredential(accessKeyID: "owner")
    static let stranger = S3Identity.forCredential(accessKeyID: "stranger")

    func withStore(_ body: (FileStoreBackend, PolicyStage) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-stage-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = FileStoreBackend(options: .init(directory: directory))
        try await backend.open()
        _ = try await backend.createBucket("bkt", owner: Self.owner, region: "us-east-1")
        try await body(backend, PolicyStage(backend: backend, enforce: true, users: [Self.owner, Self.stranger]))
        try await backend.close()
    }

    func context(_ identity: S3Identity, _ operation: S3Operation) -> S3Context {
        var context = S3Context(requestID: "r", logger: Logger(label: "test"), identity: identity)
        context.operation = operation
        return context
    }

    let get = S3Request(method: .get, target: "/bkt/k")
    let getObject = S3Operation.getObject(ObjectAddress(bucket: "bkt", key: "k"))

    @Test("the owner passes, with the bucket it was authorized against and the policy language installed")
    func ownerPasses() async throws {
        try await withStore { _, stage in
            let probe = Probe()
            _ = try await stage.handle(get, context: context(Self.owner, getObject), next: probe.next())
            #expect(probe.calls == 1)
            #expect(probe.last?.authorizedBucket?.name == "bkt")
            #expect(probe.last?.policies != nil)
        }
    }

    @Test("a stranger is refused before next; a policy written behind the stage's back is seen at once, and its removal too")
    func policyChangesAreSeen() async throws {
        try await withStore { backend, stage in
            let probe = Probe()
            await #expect { try await stage.handle(get, context: context(Self.stranger, getObject), next: probe.next()) } throws: {
                ($0 as? S3Error)?.code == .accessDenied
            }
            #expect(probe.calls == 0)
            // Another node (here: the backend directly) grants reads: the cache keyed by the
            // bucket's configuration version must not serve the old answer.
            let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}]}"#
            try await backend.setBucketConfiguration("bkt", kind: .policy, document: Array(policy.utf8))
            _ = try await stage.handle(get, context: context(Self.stranger, getObject), next: probe.next())
            #expect(probe.calls == 1)
            try await backend.setBucketConfiguration("bkt", kind: .policy, document: nil)
            await #expect { try await stage.handle(get, context: context(Self.stranger, getObject), next: probe.next()) } throws: {
                ($0 as? S3Error)?.code == .accessDenied
            }
        }
    }

    @Test("a missing key is NoSuchKey for the owner and AccessDenied for a reader who may not list")
    func missingKeys() async throws {
        try await withStore { backend, stage in
            let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}]}"#
            try await backend.setBucketConfiguration("bkt", kind: .policy, document: Array(policy.utf8))
            let probe = Probe()
            await #expect { try await stage.handle(get, context: context(Self.owner, getObject), next: probe.next(missing: "k")) } throws: {
                ($0 as? S3Error)?.code == .noSuchKey
            }
            await #expect { try await stage.handle(get, context: context(Self.stranger, getObject), next: probe.next(missing: "k")) } throws: {
                ($0 as? S3Error)?.code == .accessDenied
            }
        }
    }

    @Test("not enforcing, it authorizes nothing but still installs the policy language")
    func notEnforcing() async throws {
        try await withStore { backend, _ in
            let stage = PolicyStage(backend: backend, enforce: false)
            let probe = Probe()
            _ = try await stage.handle(get, context: context(Self.stranger, getObject), next: probe.next())
            #expect(probe.last?.authorizedBucket == nil && probe.last?.policies != nil)
            #expect(stage.role == .authorization)
        }
    }
}
