public import StowageCore
import HTTPTypes

/// Authenticates requests with AWS Signature Version 4 and sets `context.identity`: the
/// credential's identity for a valid signature, anonymous for a request without one (the policy
/// stage decides what anonymous may do). Any invalid signature, expired URL or skewed clock is
/// an S3 error here, before anything else runs. For signed aws-chunked bodies it installs the
/// chunk-signature verifier the body decoder consults.
///
/// With authentication disabled the stage passes requests through unchanged (the host's default
/// identity, the first configured credential, acts for everyone).
///
/// ```swift
/// let stage = SigV4Stage(verifier: SigV4Verifier(credentials: StaticCredentials(credentials), region: "us-east-1"))
/// ```
public struct SigV4Stage: S3Stage {
    public let verifier: SigV4Verifier
    public let enabled: Bool

    public init(verifier: SigV4Verifier, enabled: Bool = true) {
        self.verifier = verifier
        self.enabled = enabled
    }

    public init(configuration: StowageConfiguration) {
        self.init(
            verifier: SigV4Verifier(credentials: StaticCredentials(configuration.auth.credentials), region: configuration.server.region),
            enabled: configuration.auth.enabled
        )
    }

    public var role: S3StageRole { .authentication }

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        guard enabled else { return try await next(request, context) }
        var context = context
        if case .postObject = context.operation {
            // A browser upload signs its form's policy, not the request: read the form up to
            // the file, verify that, and hand the form on.
            let form = try await context.readPostForm(request)
            context.identity = try verifier.verify(form, now: .now) ?? .anonymous
            return try await next(request, context)
        }
        var request = request
        if let verified = try verifier.verify(request, now: .now) {
            context.identity = verified.identity
            context.chunkSignatures = verified.chunkSignatures
            // A presigned URL may sign the payload hash as a query parameter; the body is then
            // verified against it exactly as against the header.
            if case .presigned = verified.authorization.kind, request.query["X-Amz-Content-Sha256"] != nil {
                request.headers[.amzContentSHA256] = verified.payloadHash
            }
        } else {
            context.identity = .anonymous
            if request.headers[.amzContentSHA256]?.hasPrefix("STREAMING-AWS4-HMAC-SHA256-") == true {
                // Chunk signatures without a request signature to chain from cannot be verified.
                throw S3Error(.accessDenied, message: "A signed streaming payload needs a signed request.")
            }
        }
        return try await next(request, context)
    }
}
