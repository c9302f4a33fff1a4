public import HTTPTypes
import NIOCore

/// An endpoint the host serves under `/_stowage/<name>`, beside S3 and outside its pipeline:
/// health, metrics, the test reset, a console. No bucket can be named `_stowage`, so these
/// paths never shadow S3 requests. Registered by name
/// (``PluginRegistry/registerEndpoint(_:factory:)``) and selected by `server.endpoints`.
///
/// ```swift
/// struct VersionEndpoint: HostEndpoint {
///     func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response {
///         .text(.ok, "stowage 1.0\n")
///     }
/// }
/// registry.registerEndpoint("version") { _ in VersionEndpoint() }   // GET /_stowage/version
/// ```
public protocol HostEndpoint: Sendable {
    func respond(to request: S3Request, context: HostEndpointContext) async -> S3Response
}

/// What an endpoint learns about the request beyond the request itself.
public struct HostEndpointContext: Sendable {
    /// The path after `/_stowage/<name>` (`""` or `/...`).
    public var subpath: String
    /// Whether the request came over TLS.
    public var secure: Bool

    public init(subpath: String, secure: Bool) {
        self.subpath = subpath
        self.secure = secure
    }
}

/// What the host offers plugins and endpoints about the running server.
public struct HostServices: Sendable {
    /// Whether the server is started and not stopping.
    public var isReady: @Sendable () -> Bool
    /// The Prometheus text exposition of the server's metrics.
    public var renderMetrics: @Sendable () async -> [UInt8]

    public init(isReady: @escaping @Sendable () -> Bool, renderMetrics: @escaping @Sendable () async -> [UInt8]) {
        self.isReady = isReady
        self.renderMetrics = renderMetrics
    }
}

/// What a transport factory receives.
public struct TransportEnvironment: Sendable {
    public var plugin: PluginEnvironment
    /// The node the transport serves.
    public var local: NodeID
    /// Where requests that arrive for `local` go.
    public var handler: any ClusterRequestHandler

    public init(plugin: PluginEnvironment, local: NodeID, handler: any ClusterRequestHandler) {
        self.plugin = plugin
        self.local = local
        self.handler = handler
    }
}

extension S3Response {
    /// A small plain-text (or other `contentType`) response, for endpoints.
    public static func text(_ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8") -> S3Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return S3Response(status: status, headers: headers, body: .bytes(ByteBuffer(string: body)))
    }
}
