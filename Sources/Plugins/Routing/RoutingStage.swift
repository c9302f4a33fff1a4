public import StowageCore

/// Resolves every request to an `S3Operation` once, so later stages and the dispatcher work
/// with typed values. The raw path and query stay untouched on the request for SigV4.
///
/// ```swift
/// let stages: [any S3Stage] = [XMLStage(), RoutingStage(domains: ["s3.local.test"])]
/// ```
public struct RoutingStage: S3Stage {
    /// Domains for virtual-hosted-style requests (`server.domains`); empty: path-style only.
    public let domains: [String]

    public init(domains: [String] = []) {
        self.domains = domains
    }

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        var context = context
        let operation = try S3RequestRouter.operation(for: request, domains: domains)
        context.operation = operation
        context.record?.operation = operation.name
        return try await next(request, context)
    }
}
