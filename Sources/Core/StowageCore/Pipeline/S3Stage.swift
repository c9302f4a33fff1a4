/// The continuation a stage calls to pass a request on.
public typealias S3Next = @Sendable (S3Request, S3Context) async throws -> S3Response

/// One stage of the request pipeline (the shape of Hummingbird's middleware).
///
/// A stage may transform the request and forward it, answer on its own (a CORS preflight),
/// or wrap the response on the way out. Errors are thrown as `S3Error`; the XML stage turns
/// them into S3's error documents.
///
/// ```swift
/// struct ServerHeaderStage: S3Stage {
///     func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
///         var response = try await next(request, context)
///         response.headers[.server] = "Stowage"
///         return response
///     }
/// }
/// ```
public protocol S3Stage: Sendable {
    /// What the stage does for access control. The pipeline verifies request bodies right after
    /// the last authenticating stage (it installs the chunk-signature verifier), and
    /// `auth.enabled` insists on an authenticating stage followed by an authorizing one.
    var role: S3StageRole { get }
    func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response
}

extension S3Stage {
    public var role: S3StageRole { .other }
}

/// A stage's part in access control.
public enum S3StageRole: Sendable {
    /// Establishes who is asking: sets `context.identity` (`sigv4`, a bearer-token stage) and,
    /// for signed aws-chunked bodies, `context.chunkSignatures`.
    case authentication
    /// Decides what the identity may do (`policy`). It sees verified bodies.
    case authorization
    case other
}

/// The terminal handler of a pipeline: receives routed requests, calls the backend.
public protocol S3Responder: Sendable {
    func respond(to request: S3Request, context: S3Context) async throws -> S3Response
}
