import BearerAuth
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Stowage
import StowageCore
import Testing

@Suite("Example: bearer-token authentication instead of SigV4", .timeLimit(.minutes(1)))
struct BearerTokenStageTests {
    func request(_ method: String, _ url: String, token: String?, body: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = if let body {
            try await URLSession.shared.upload(for: request, from: Data(body.utf8))
        } else {
            try await URLSession.shared.data(for: request)
        }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func tokensAreIdentitiesAndPoliciesStillApply() async throws {
        var configuration = StowageConfiguration.bearerAuth(users: [
            .init(accessKeyId: "alice", secretAccessKey: "unused", name: "alice", accountId: "111111111111"),
            .init(accessKeyId: "bob", secretAccessKey: "unused", name: "bob", accountId: "222222222222"),
        ], tokens: ["a-token": "alice", "b-token": "bob"])
        configuration.server.port = 0
        configuration.server.address = "127.0.0.1"
        configuration.server.silent = true
        configuration.storage.directory = FileManager.default.temporaryDirectory.appendingPathComponent("bearer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: configuration.storage.directory) }
        let server = try await Stowage.createAndStart(configuration, registry: .withBearerAuth)
        let base = "http://127.0.0.1:\(server.port)"
        do {
            #expect(try await request("PUT", "\(base)/photos", token: "a-token", body: "").0 == 200)
            #expect(try await request("PUT", "\(base)/photos/cat.txt", token: "a-token", body: "meow").0 == 200)
            #expect(try await request("GET", "\(base)/photos/cat.txt", token: "a-token") == (200, "meow"))
            // Anonymous and another user are refused by the policy stage; a bad token by ours.
            #expect(try await request("GET", "\(base)/photos/cat.txt", token: nil).0 == 403)
            #expect(try await request("GET", "\(base)/photos/cat.txt", token: "b-token").0 == 403)
            let (status, body) = try await request("GET", "\(base)/photos/cat.txt", token: "forged")
            #expect(status == 403 && body.contains("The bearer token is not valid."))
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test("the tokens come from the configuration file's plugins.bearer section, decoded strictly")
    func configurationSection() throws {
        let base = #"{"auth": {"enabled": true, "credentials": [{"accessKeyId": "alice", "secretAccessKey": "x"}]}, "pipeline": {"stages": ["xml", "routing", "bearer", "policy"]}, "storage": {"directory": "/tmp/unused-bearer"}"#
        func build(_ plugins: String) throws -> Stowage {
            try StowageBuilder(configuration: try StowageConfiguration.load(json: base + #", "plugins": "# + plugins + "}"), registry: .withBearerAuth).build()
        }
        _ = try build(#"{"bearer": {"tokens": {"t": "alice"}}}"#)
        #expect { try build(#"{"bearer": {"tokens": {"t": "alice"}, "token": 1}}"#) } throws: { ($0 as? ConfigurationError)?.field == "plugins.bearer.token" }
        #expect { try build(#"{"bearer": {"tokens": {"t": 7}}}"#) } throws: { ($0 as? ConfigurationError)?.field == "plugins.bearer.tokens.t" }
        #expect { try build(#"{"bearer": {"tokens": {"t": "mallory"}}}"#) } throws: { ($0 as? ConfigurationError)?.field == "plugins.bearer.tokens.t" }
        #expect { try build(#"{"barer": {"tokens": {}}}"#) } throws: { ($0 as? ConfigurationError)?.field == "plugins.barer" }
        #expect { try build(#"{}"#) } throws: { ($0 as? ConfigurationError)?.field == "plugins.bearer" }
    }
}
