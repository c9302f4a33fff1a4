import HTTPTypes
public import Logging
public import Stowage
public import StowageCore
import StowageFileStore
import StowageRouting
import StowageXML

/// Refuses every operation that would change stored data. Sits after routing, so it sees the
/// resolved operation, and inside the XML stage, so its errors become S3 error documents.
public struct ReadOnlyStage: S3Stage {
    public init() {}

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        switch try context.requireOperation() {
        case .listBuckets, .headBucket, .getBucketLocation, .listObjects, .listObjectsV2, .getObject, .headObject:
            return try await next(request, context)
        default:
            throw S3Error(.accessDenied, message: "This server is read-only.")
        }
    }
}

/// A server assembled by hand from Stowage's pieces: the file store backend, the XML and
/// routing stages, and `ReadOnlyStage`, with no registry and no configuration file.
public func makeReadOnlyServer(directory: String, port: Int, logger: Logger = Logger(label: "read-only-server")) throws -> Stowage {
    var configuration = StowageConfiguration()
    configuration.server.port = port
    configuration.server.address = "127.0.0.1"
    configuration.storage.directory = directory
    let backend = FileStoreBackend(options: .init(directory: directory), logger: logger)
    return try Stowage(configuration: configuration, backend: backend, stages: [XMLStage(), RoutingStage(), ReadOnlyStage()], logger: logger)
}
