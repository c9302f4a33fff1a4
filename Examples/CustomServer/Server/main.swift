// A server assembled by hand from Stowage's pieces: the file store backend, the XML and
// routing stages, and a custom stage of our own that makes the server read-only.
//
//     swift run CustomServerExample /tmp/custom-data 9000
//
// Reads work as usual; every write answers 403 AccessDenied as an S3 XML error.
import Stowage
import ReadOnlyServer
import StowageCore

let arguments = CommandLine.arguments
let directory = arguments.count > 1 ? arguments[1] : "/tmp/stowage-custom-server"
let port = arguments.count > 2 ? Int(arguments[2]) ?? 9000 : 9000

let server = try makeReadOnlyServer(directory: directory, port: port)
try await server.start()
// Seed something to read before the door closes.
if (try? await server.backend.bucket("public")) == nil {
    try await server.createBucket("public")
}
print("read-only S3 on \(server.storageDescriptor().endpointURL), serving \(directory)")
while true { try await Task.sleep(for: .seconds(3600)) }
