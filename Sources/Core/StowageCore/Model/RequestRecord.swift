import Synchronization

/// What the host and the stages learn about a request, logged and counted after the response:
/// the operation (set by routing), the S3 error code (set when an error is rendered) and the
/// body bytes read. A
/// reference shared by every copy of the request's `S3Context`, because stages pass contexts
/// down by value and the host only holds the one it started with.
///
/// ```swift
/// context.record?.operation = "GetObject"
/// ```
public final class RequestRecord: Sendable {
    private struct Fields {
        var operation: String?
        var errorCode: String?
        var receivedBytes: Int64 = 0
    }
    private let fields = Mutex(Fields())

    public init() {}

    /// The S3 API name of the request (`GetObject`), once routed.
    public var operation: String? {
        get { fields.withLock { $0.operation } }
        set { fields.withLock { $0.operation = newValue } }
    }

    /// Request body bytes read from the connection so far (framing included, as sent).
    public var receivedBytes: Int64 { fields.withLock { $0.receivedBytes } }

    public func addReceived(_ count: Int) {
        fields.withLock { $0.receivedBytes &+= Int64(count) }
    }

    /// The S3 error code the request was answered with, if it failed.
    public var errorCode: String? {
        get { fields.withLock { $0.errorCode } }
        set { fields.withLock { $0.errorCode = newValue } }
    }
}
