import HTTPTypes
public import StowageCore
import NIOCore
import Logging

/// Renders typed results and every thrown error as S3 XML, and installs the request-document
/// decoder. It sits outside all S3 logic so that every failure of the stages inside it, and of
/// the dispatcher, reaches the client as an S3 error document.
///
/// ```swift
/// let pipeline = S3Pipeline(stages: [XMLStage(), RoutingStage()], responder: dispatcher)
/// ```
public struct XMLStage: S3Stage {
    private let decoder = LibXMLDocumentDecoder()

    public init() {}

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        var context = context
        context.documents = decoder
        do {
            var response = try await next(request, context)
            if case .document(let result) = response.body {
                let bytes = S3DocumentRenderer.render(result)
                response.headers[.contentType] = "application/xml"
                response.headers[.contentLength] = "\(bytes.readableBytes)"
                response.body = .bytes(bytes)
            }
            return response
        } catch {
            return Self.errorResponse(S3Error.wrapping(error), request: request, context: context, underlying: error)
        }
    }

    /// S3's answer to a failed request: the code's status, its headers, and an `<Error>`
    /// document, except for HEAD and 304, which carry no body.
    public static func errorResponse(_ error: S3Error, request: S3Request, context: S3Context, underlying: (any Error)? = nil) -> S3Response {
        var error = error
        if error.resource == nil { error.resource = request.rawPath }
        context.record?.errorCode = error.code.name
        if error.code == .internalError {
            context.logger.error("internal error", metadata: ["error": "\(underlying.map { String(describing: $0) } ?? error.message)"])
        } else {
            context.logger.debug("request failed", metadata: ["code": "\(error.code.name)"])
        }
        let status = HTTPResponse.Status(code: error.status)
        var headers = error.headers
        if request.method == .head || error.status == 304 {
            return S3Response(status: status, headers: headers, body: .empty)
        }
        let bytes = S3DocumentRenderer.renderError(error, requestID: context.requestID)
        headers[.contentType] = "application/xml"
        headers[.contentLength] = "\(bytes.readableBytes)"
        return S3Response(status: status, headers: headers, body: .bytes(bytes))
    }
}
