/// An ordered list of stages folded around a terminal responder, built once at start-up.
///
/// The first stage is outermost: it sees the request first and the response last. The pipeline
/// itself verifies the request body, once, where authentication has finished: after the last
/// authenticating stage, else before the first authorizing one, else just before the
/// responder. From there on `request.body` is the decoded, verified stream (aws-chunked
/// framing removed, payload hash, checksums and chunk signatures checked as it streams) and
/// `request.payload` says what was verified; no stage or handler wraps the body again.
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
        let verifyAt = Self.verificationIndex(stages)
        var next: S3Next = { request, context in try await responder.respond(to: request, context: context) }
        for index in stages.indices.reversed() {
            if index + 1 == verifyAt { next = Self.verifyingBody(then: next) }
            let inner = next
            let stage = stages[index]
            next = { request, context in try await stage.handle(request, context: context, next: inner) }
        }
        if verifyAt == 0 { next = Self.verifyingBody(then: next) }
        entry = next
    }

    public func handle(_ request: S3Request, context: S3Context) async throws -> S3Response {
        try await entry(request, context)
    }

    /// Where the body is verified: before the stage at this index (`stages.count`: before the
    /// responder).
    static func verificationIndex(_ stages: [any S3Stage]) -> Int {
        if let last = stages.lastIndex(where: { $0.role == .authentication }) { return last + 1 }
        if let first = stages.firstIndex(where: { $0.role == .authorization }) { return first }
        return stages.count
    }

    private static func verifyingBody(then next: @escaping S3Next) -> S3Next {
        { request, context in
            var request = request
            try PayloadIntegrity.verify(&request, context: context)
            return try await next(request, context)
        }
    }
}
