import HTTPTypes
import NIOCore
import NIOHTTP1
import StowageCore
import StowageXML

/// HTTP/1.1 response heads from S3 responses: the framing headers (`Content-Length`,
/// `Transfer-Encoding`, `Connection`) are decided here, never taken from the response, and
/// every answer carries the request id, `Server` and `Date`. Pure, so framing is tested
/// without a connection.
///
/// ```swift
/// let head = ResponseHeadWriter.head(for: response, requestID: "4F2A", length: 5, framing: framing)
/// ```
enum ResponseHeadWriter {
    static func head(for response: S3Response, requestID: String, length: Int64?,
                     framing: ConnectionStateMachine.ResponseFraming) -> HTTPResponseHead {
        let status = response.status.code
        let bodyless = status == 204 || status == 304 || (100..<200).contains(status)
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 7)
        var declaredLength: String?
        for field in response.headers {
            if field.name == .contentLength {
                declaredLength = field.value
                continue
            }
            if field.name == .transferEncoding { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        headers.add(name: "x-amz-request-id", value: requestID)
        headers.add(name: "x-amz-id-2", value: requestID)
        headers.add(name: "Server", value: "Stowage")
        headers.add(name: "Date", value: HTTPDates.now())
        if let length {
            headers.add(name: "Content-Length", value: String(length))
        } else if case .stream = response.body {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else if !bodyless {
            // A HEAD answer carries the object's length; other empty answers have length 0.
            headers.add(name: "Content-Length", value: declaredLength ?? "0")
        }
        if !framing.keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if framing.version.major == 1 && framing.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        return HTTPResponseHead(
            version: framing.version, status: HTTPResponseStatus(statusCode: status, reasonPhrase: response.status.reasonPhrase), headers: headers
        )
    }

    /// A final S3 error answer for a request that could not be parsed or served at all; the
    /// connection closes after it.
    static func protocolError(_ error: S3Error, requestID: String) -> (head: HTTPResponseHead, body: ByteBuffer) {
        let bytes = S3DocumentRenderer.renderError(error, requestID: requestID)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/xml")
        headers.add(name: "Content-Length", value: "\(bytes.readableBytes)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "x-amz-request-id", value: requestID)
        headers.add(name: "Date", value: HTTPDates.now())
        return (HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: error.status), headers: headers), bytes)
    }
}

extension S3Request {
    /// The request an HTTP/1.1 head describes, or the 400 it earns: exactly one `Host`
    /// (RFC 9112 §3.2; a proxy in front might have routed on another one), required from
    /// HTTP/1.1 on, and a valid method.
    static func fromHTTP1(_ head: HTTPRequestHead, body: S3Body) -> Result<S3Request, S3Error> {
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var authority: String?
        var duplicateHost = false
        for (name, value) in head.headers {
            if name.utf8.count == 4, name.lowercased() == "host" {
                duplicateHost = duplicateHost || authority != nil
                authority = value
                continue
            }
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        if duplicateHost {
            return .failure(S3Error(.badRequest, message: "A request must carry exactly one Host header."))
        }
        if authority == nil, head.version.major == 1, head.version.minor >= 1 {
            return .failure(S3Error(.badRequest, message: "An HTTP/1.1 request must carry a Host header."))
        }
        guard let method = HTTPRequest.Method(head.method.rawValue) else {
            return .failure(S3Error(.badRequest, message: "The request method is not valid."))
        }
        return .success(S3Request(method: method, target: head.uri, authority: authority, headers: fields, body: body))
    }
}
