// A server assembled by hand from Stowage's pieces: the file store backend, the XML and
// routing stages, and a custom stage of our own that makes the server read-only.
//
//     swift run CustomServerExample /tmp/custom-data 9000
//
// Reads work as usual; every write answers 403 AccessDenied as an S3 XML error.
import HTTPTypes
import Logging
import Stowage
import StowageCore
import StowageFileStore
import StowageRouting
import StowageXML

/// Refuses every operation that would change stored data. Sits after routing, so it sees the
/// resolved operation, and inside the XML stage, so its errors become S3 error documents.
struct ReadOnlyStage: S3Stage {
    func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        switch try context.requireOperation() {
        case .listBuckets, .headBucket, .getBucketLocation, .listObjects, .listObjectsV2, .getObject, .headObject:
            return try await next(request, context)
        default:
            throw S3Error(.accessDenied, message: "This server is read-only.")
        }
    }
}

let arguments = CommandLine.arguments
let directory = arguments.count > 1 ? arguments[1] : "/tmp/stowage-custom-server"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 9000 : 9000

var configuration = StowageConfiguration()
configuration.server.port = port
configuration.server.address = "127.0.0.1"
configuration.storage.directory = directory

let logger = Logger(label: "custom-server")
let backend = FileStoreBackend(options: .init(directory: directory), logger: logger)
let server = Stowage(
    configuration: configuration,
    backend: backend,
    stages: [XMLStage(), RoutingStage(), ReadOnlyStage()],
    logger: logger
)
try await server.start()
// Seed something to read before the door closes.
if (try? await backend.bucket("public")) == nil {
    try await server.createBucket("public")
}
print("read-only S3 on \(server.storageDescriptor().endpointURL), serving \(directory)")
while true { try await Task.sleep(for: .seconds(3600)) }
