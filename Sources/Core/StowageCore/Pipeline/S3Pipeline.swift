/// An ordered list of stages folded around a terminal responder, built once at start-up.
///
/// The first stage is outermost: it sees the request first and the response last.
///
/// ```swift
/// let pipeline = S3Pipeline(stages: [XMLStage(), RoutingStage()], responder: S3Dispatcher(backend: store))
/// let response = try await pipeline.handle(request, context: context)
/// ```
public struct S3Pipeline: Sendable {
    public let stages: [any S3Stage]
    private let entry: S3Next

    public init(stages: [any S3Stage], responder: any S3Responder) {
        self.stages = stages
        var next: S3Next = { request, context in try await responder.respond(to: request, context: context) }
        for stage in stages.reversed() {
            let inner = next
            next = { request, context in try await stage.handle(request, context: context, next: inner) }
        }
        entry = next
    }

    public func handle(_ request: S3Request, context: S3Context) async throws -> S3Response {
        try await entry(request, context)
    }
}
