import Configuration
import Foundation
import SystemPackage
// The same 20-odd settings Stowage reads: JSON file < environment < flags.
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "c.json"
let config = ConfigReader(providers: [
    CommandLineArgumentsProvider(),
    EnvironmentVariablesProvider(),
    try await FileProvider<JSONSnapshot>(filePath: FilePath(path)),
])
var total = 0
for key in ["server.port", "limits.requestTimeout", "server.shutdownGracePeriod", "multipart.expirationDays", "multipart.cleanupIntervalMinutes", "limits.maxObjectSize"] {
    total &+= config.int(forKey: ConfigKey(key), default: 1)
}
for key in ["server.address", "storage.directory", "server.region", "logging.level", "logging.format", "auth.accessKey", "auth.secretKey", "storage.backend"] {
    total &+= config.string(forKey: ConfigKey(key), default: "x").count
}
for key in ["server.silent", "storage.cleanSlate", "storage.fsync", "auth.enabled", "server.adminReset", "logging.enabled"] {
    total &+= config.bool(forKey: ConfigKey(key), default: false) ? 1 : 0
}
print(total)
