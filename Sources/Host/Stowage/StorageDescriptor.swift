/// How an S3 client reaches a running server (the shape smartstorage's
/// `getStorageDescriptor()` returns).
///
/// ```swift
/// let descriptor = server.storageDescriptor()
/// // boto3.client("s3", endpoint_url: descriptor.endpointURL, ...)
/// ```
public struct StorageDescriptor: Sendable, Codable, Equatable {
    public var endpoint: String
    public var port: Int
    public var accessKey: String
    public var accessSecret: String
    public var useSsl: Bool

    public init(endpoint: String, port: Int, accessKey: String, accessSecret: String, useSsl: Bool) {
        self.endpoint = endpoint
        self.port = port
        self.accessKey = accessKey
        self.accessSecret = accessSecret
        self.useSsl = useSsl
    }

    /// `http://localhost:PORT`.
    public var endpointURL: String { "\(useSsl ? "https" : "http")://\(endpoint):\(port)" }
}
