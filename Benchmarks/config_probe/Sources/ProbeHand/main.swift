import Foundation
struct C: Decodable { struct S: Decodable { var port: Int?; var address: String?; var region: String?; var silent: Bool? }; var server: S? }
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "c.json"
let data = FileManager.default.contents(atPath: path) ?? Data("{}".utf8)
var c = try JSONDecoder().decode(C.self, from: data)
let env = ProcessInfo.processInfo.environment
var total = (c.server?.port ?? 0) + (env["STOWAGE_PORT"].flatMap(Int.init) ?? 0)
for name in ["STOWAGE_ADDRESS", "STOWAGE_DIRECTORY", "STOWAGE_REGION", "STOWAGE_LOG_LEVEL", "STOWAGE_ACCESS_KEY", "STOWAGE_SECRET_KEY"] { total &+= env[name]?.count ?? 0 }
print(total)
