import Foundation
// The same settings as ProbeSCfg, read the way Stowage reads them: a strict JSON file decoded
// into a struct, then STOWAGE_* variables, then `--name value` flags.
struct Settings: Decodable {
    struct Server: Decodable { var port: Int?; var address: String?; var region: String?; var silent: Bool?; var adminReset: Bool?; var shutdownGracePeriod: Int? }
    struct Storage: Decodable { var directory: String?; var backend: String?; var cleanSlate: Bool?; var fsync: Bool? }
    struct Limits: Decodable { var requestTimeout: Int?; var maxObjectSize: Int? }
    struct Multipart: Decodable { var expirationDays: Int?; var cleanupIntervalMinutes: Int? }
    struct Logging: Decodable { var level: String?; var format: String?; var enabled: Bool? }
    struct Auth: Decodable { var enabled: Bool?; var accessKey: String?; var secretKey: String? }
    var server: Server?; var storage: Storage?; var limits: Limits?; var multipart: Multipart?; var logging: Logging?; var auth: Auth?
}
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "c.json"
let data = FileManager.default.contents(atPath: path) ?? Data("{}".utf8)
let settings = try JSONDecoder().decode(Settings.self, from: data)
let env = ProcessInfo.processInfo.environment
var total = settings.server?.port ?? 0
for name in ["STOWAGE_PORT", "STOWAGE_REQUEST_TIMEOUT", "STOWAGE_SHUTDOWN_GRACE_PERIOD", "STOWAGE_MAX_OBJECT_SIZE", "STOWAGE_EXPIRATION_DAYS", "STOWAGE_CLEANUP_INTERVAL"] {
    total &+= env[name].flatMap(Int.init) ?? 1
}
for name in ["STOWAGE_ADDRESS", "STOWAGE_DIRECTORY", "STOWAGE_REGION", "STOWAGE_LOG_LEVEL", "STOWAGE_LOG_FORMAT", "STOWAGE_ACCESS_KEY", "STOWAGE_SECRET_KEY", "STOWAGE_BACKEND"] {
    total &+= env[name]?.count ?? 1
}
for name in ["STOWAGE_SILENT", "STOWAGE_CLEAN_SLATE", "STOWAGE_FSYNC", "STOWAGE_AUTH_ENABLED", "STOWAGE_ADMIN_RESET", "STOWAGE_LOG_ENABLED"] {
    total &+= env[name] == "true" ? 1 : 0
}
var arguments = CommandLine.arguments.dropFirst(2)[...]
while let flag = arguments.popFirst() {
    if flag == "--port", let value = arguments.popFirst().flatMap(Int.init) { total &+= value }
}
print(total)
