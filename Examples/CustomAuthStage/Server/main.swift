// Replacing SigV4 with a custom authentication stage through the plugin registry.
//
//     swift run CustomAuthStageExample /tmp/bearer-data 9000
//     curl -X PUT -H 'Authorization: Bearer alice-token' http://127.0.0.1:9000/photos
//     curl -X PUT -H 'Authorization: Bearer alice-token' --data-binary @cat.jpg http://127.0.0.1:9000/photos/cat.jpg
//     curl http://127.0.0.1:9000/photos/cat.jpg                  # 403 AccessDenied: anonymous
import BearerAuth
import Logging
import Stowage
import StowageCore

let arguments = CommandLine.arguments
var configuration = StowageConfiguration.bearerAuth(users: [
    .init(accessKeyId: "alice", secretAccessKey: "unused-by-bearer-auth", name: "alice", accountId: "111111111111"),
    .init(accessKeyId: "bob", secretAccessKey: "unused-by-bearer-auth", name: "bob", accountId: "222222222222"),
], tokens: ["alice-token": "alice", "bob-token": "bob"])
configuration.storage.directory = arguments.count > 1 ? arguments[1] : "/tmp/stowage-bearer"
configuration.server.port = arguments.count > 2 ? Int(arguments[2]) ?? 9000 : 9000
configuration.server.address = "127.0.0.1"

// The same as a configuration file: {"plugins": {"bearer": {"tokens": {"alice-token": "alice"}}}, ...}
let server = try await Stowage.createAndStart(configuration, registry: .withBearerAuth, logger: Logger(label: "bearer-example"))
print("S3 with bearer-token auth on \(server.storageDescriptor().endpointURL)")
while true { try await Task.sleep(for: .seconds(3600)) }
