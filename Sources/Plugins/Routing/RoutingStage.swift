public import StowageCore

/// Resolves every request to an `S3Operation` once, so later stages and the dispatcher work
/// with typed values. The raw path and query stay untouched on the request for SigV4.
///
/// ```swift
/// let stages: [any S3Stage] = [XMLStage(), RoutingStage()]
/// ```
public struct RoutingStage: S3Stage {
    public init() {}

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        var context = context
        context.operation = try S3RequestRouter.operation(for: request)
        return try await next(request, context)
    }
}
