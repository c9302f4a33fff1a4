public import HTTPTypes

/// An S3 error: what every failing stage, handler or backend throws.
///
/// The XML stage renders it as S3's `<Error>` document; extra fields (`BucketName`, `Key`,
/// `Condition`, ...) appear as elements after `Message`, as S3 does.
///
/// ```swift
/// throw S3Error(.noSuchKey, resource: "/photos/cat.jpg", fields: ["Key": "cat.jpg"])
/// ```
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public var code: S3ErrorCode
    public var message: String
    /// The `<Resource>` element: the bucket or object the request addressed.
    public var resource: String?
    /// Extra elements of the error document, in order.
    public var fields: [(name: String, value: String)]
    /// Extra response headers (for example `Content-Range` on `InvalidRange`, `Allow` on 405).
    public var headers: HTTPFields

    public init(
        _ code: S3ErrorCode,
        message: String? = nil,
        resource: String? = nil,
        fields: [(name: String, value: String)] = [],
        headers: HTTPFields = [:]
    ) {
        self.code = code
        self.message = message ?? code.message
        self.resource = resource
        self.fields = fields
        self.headers = headers
    }

    public var status: Int { code.status }

    public var description: String { "\(code.name): \(message)" }

    /// A copy with an extra document field.
    public func with(_ name: String, _ value: String) -> S3Error {
        var copy = self
        copy.fields.append((name, value))
        return copy
    }

    /// An unimplemented operation: 501 `NotImplemented`, naming what is missing.
    public static func notImplemented(_ what: String) -> S3Error {
        S3Error(.notImplemented, message: "\(what) is not implemented by this server.")
    }

    /// `InvalidArgument` with S3's `ArgumentName`/`ArgumentValue` fields.
    public static func invalidArgument(_ message: String, name: String? = nil, value: String? = nil) -> S3Error {
        var error = S3Error(.invalidArgument, message: message)
        if let name { error.fields.append(("ArgumentName", name)) }
        if let value { error.fields.append(("ArgumentValue", value)) }
        return error
    }

    /// Wrap any error into an S3 error; non-S3 errors become `InternalError`.
    public static func wrapping(_ error: any Error) -> S3Error {
        if let s3 = error as? S3Error { return s3 }
        return S3Error(.internalError)
    }
}
