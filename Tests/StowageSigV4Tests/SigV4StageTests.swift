import HTTPTypes
import Logging
import StowageCore
import StowageSigV4
import Synchronization
import Testing

/// Records what reached `next`, so a stage test sees exactly what the stage passed on.
final class NextProbe: Sendable {
    private let seen = Mutex<[(S3Request, S3Context)]>([])
    var calls: Int { seen.withLock { $0.count } }
    var last: (request: S3Request, context: S3Context)? { seen.withLock { $0.last } }

    var next: S3Next {
        { request, context in
            self.seen.withLock { $0.append((request, context)) }
            return S3Response(status: .ok)
        }
    }
}

@Suite("SigV4 stage, with a fake next")
struct SigV4StageTests {
    static let accessKey = "AKIDSTAGETEST"
    static let secret = "stage-test-secret"
    let stage = SigV4Stage(verifier: SigV4Verifier(credentials: StaticCredentials([.init(accessKeyId: accessKey, secretAccessKey: secret)]), region: "us-east-1"))
    let context: S3Context = {
        var context = S3Context(requestID: "r", logger: Logger(label: "test"), identity: .anonymous)
        context.operation = .getObject(ObjectAddress(bucket: "b", key: "k"))
        return context
    }()

    func signed(secret: String = secret, extra: [(String, String)] = [], payloadHash: String = SigV4Signer.emptyPayloadHash) -> S3Request {
        let signer = SigV4Signer(accessKeyID: Self.accessKey, secretAccessKey: secret, region: "us-east-1")
        let headers = signer.sign(method: "GET", path: "/b/k", query: [], headers: [("Host", "localhost")] + extra,
                                  payloadHash: payloadHash, date: .now)
        var fields = HTTPFields()
        for (name, value) in headers where name.lowercased() != "host" { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return S3Request(method: .get, target: "/b/k", authority: "localhost", headers: fields)
    }

    @Test("a valid signature passes on the credential's identity")
    func validSignature() async throws {
        let probe = NextProbe()
        _ = try await stage.handle(signed(), context: context, next: probe.next)
        #expect(probe.calls == 1)
        #expect(probe.last?.context.identity == S3Identity.forCredential(accessKeyID: Self.accessKey))
        #expect(probe.last?.context.chunkSignatures == nil)
    }

    @Test("a signed streaming body gets a chunk-signature verifier for the body decoder")
    func streamingInstallsVerifier() async throws {
        let probe = NextProbe()
        _ = try await stage.handle(signed(payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), context: context, next: probe.next)
        #expect(probe.last?.context.chunkSignatures != nil)
    }

    @Test("a wrong signature stops the request before next")
    func wrongSignature() async throws {
        let probe = NextProbe()
        await #expect { try await stage.handle(signed(secret: "not-the-secret"), context: context, next: probe.next) } throws: {
            ($0 as? S3Error)?.code == .signatureDoesNotMatch
        }
        #expect(probe.calls == 0)
    }

    @Test("no credentials at all is anonymous; a signed streaming body without a signature is refused")
    func anonymous() async throws {
        let probe = NextProbe()
        _ = try await stage.handle(S3Request(method: .get, target: "/b/k", authority: "localhost"), context: context, next: probe.next)
        #expect(probe.last?.context.identity == .anonymous)
        let streaming = S3Request(method: .put, target: "/b/k", authority: "localhost",
                                  headers: [.amzContentSHA256: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
        await #expect { try await stage.handle(streaming, context: context, next: probe.next) } throws: { ($0 as? S3Error)?.code == .accessDenied }
        #expect(probe.calls == 1)
    }

    @Test("disabled, it passes everything on untouched")
    func disabled() async throws {
        let off = SigV4Stage(verifier: stage.verifier, enabled: false)
        let probe = NextProbe()
        var context = context
        context.identity = S3Identity.forCredential(accessKeyID: "owner")
        _ = try await off.handle(signed(secret: "wrong"), context: context, next: probe.next)
        #expect(probe.last?.context.identity == context.identity)
        #expect(off.role == .authentication)
    }
}
