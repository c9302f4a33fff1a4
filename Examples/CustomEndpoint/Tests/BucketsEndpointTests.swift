import BucketsEndpoint
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Stowage
import StowageCore
import Testing

@Suite("Example: a /_stowage/ endpoint of your own", .timeLimit(.minutes(1)))
struct BucketsEndpointTests {
    func get(_ url: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func configuration(endpoints: [String]) -> StowageConfiguration {
        var configuration = StowageConfiguration()
        configuration.server.port = 0
        configuration.server.address = "127.0.0.1"
        configuration.server.silent = true
        configuration.server.endpoints = endpoints
        configuration.storage.directory = FileManager.default.temporaryDirectory.appendingPathComponent("endpoint-\(UUID().uuidString)").path
        return configuration
    }

    @Test func servedWhenSelectedBesideTheBuiltInOnes() async throws {
        let configuration = configuration(endpoints: ["health", "buckets"])
        defer { try? FileManager.default.removeItem(atPath: configuration.storage.directory) }
        let server = try await Stowage.createAndStart(configuration, registry: .withBucketsEndpoint)
        let base = "http://127.0.0.1:\(server.port)/_stowage"
        do {
            try await server.createBucket("photos")
            let (status, body) = try await get("\(base)/buckets")
            #expect(status == 200 && body.contains("\"name\":\"photos\""))
            #expect(try await get("\(base)/health/live") == (200, "live\n"))
            // Not selected in server.endpoints: not served.
            #expect(try await get("\(base)/metrics").0 == 404)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func anUnknownEndpointNameIsAConfigurationError() throws {
        #expect { try Stowage(configuration(endpoints: ["health", "bukets"]), registry: .withBucketsEndpoint) } throws: {
            ($0 as? ConfigurationError)?.field == "server.endpoints[1]"
        }
    }
}
