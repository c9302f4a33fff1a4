public import HTTPTypes
public import NIOCore

/// What the pipeline answers.
///
/// A handler returns a typed result (`.document`) and the XML stage turns it into bytes; a
/// GET of a stored file returns `.file` so the Host can send it with `sendfile`.
///
/// ```swift
/// return S3Response(status: .ok, headers: [.eTag: "\"abc\""], body: .bytes(buffer))
/// ```
public struct S3Response: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: S3ResponseBody

    public init(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], body: S3ResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response carrying a typed S3 document, rendered by the XML stage.
    public static func document(_ result: S3Result, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> S3Response {
        S3Response(status: status, headers: headers, body: .document(result))
    }
}

public enum S3ResponseBody: Sendable {
    /// No body. A `Content-Length` header set by the handler is kept (HEAD answers).
    case empty
    /// Bytes in memory.
    case bytes(ByteBuffer)
    /// A stream of a known or unknown length (chunked when unknown).
    case stream(S3Body, length: Int64?)
    /// A region of an open file, sent with `sendfile`.
    case file(FileRegionBody)
    /// A typed S3 document, rendered by the XML stage.
    case document(S3Result)
}

/// A byte range of an open file that the response owns. The Host takes the descriptor and
/// closes it after sending; if nobody takes it, it is closed when this value goes away.
public struct FileRegionBody: Sendable {
    public let descriptor: OwnedFileDescriptor
    public let offset: Int64
    public let length: Int64

    public init(descriptor: OwnedFileDescriptor, offset: Int64, length: Int64) {
        self.descriptor = descriptor
        self.offset = offset
        self.length = length
    }
}

extension S3Response {
    /// The body's length in bytes as it goes out (0 for HEAD), for logs and metrics; streams of
    /// unknown length count 0.
    public func bodyLength(head: Bool) -> Int64 {
        if head { return 0 }
        switch body {
        case .empty, .document: return 0
        case .bytes(let bytes): return Int64(bytes.readableBytes)
        case .stream(_, let length): return length ?? 0
        case .file(let region): return region.length
        }
    }
}
