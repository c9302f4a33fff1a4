import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import InMemoryBackend
import Stowage
import StowageBackendConformance
import StowageCore
import Testing

@Suite("Example: an in-memory backend that passes the conformance suite", .timeLimit(.minutes(1)))
struct InMemoryBackendTests {
    @Test(arguments: BackendConformanceSuite.cases)
    func conformance(_ check: ConformanceCase) async throws {
        let backend = InMemoryBackend()
        try await backend.open()
        do {
            try await check.run(backend)
        } catch {
            try? await backend.close()
            throw error
        }
        try await backend.close()
    }

    func request(_ method: String, _ url: String, body: String? = nil) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        let (data, response) = if let body {
            try await URLSession.shared.upload(for: request, from: Data(body.utf8))
        } else {
            try await URLSession.shared.data(for: request)
        }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func servesS3OverHTTPThroughTheBuilder() async throws {
        var builder = StowageBuilder()
        builder.configuration.server.port = 0
        builder.configuration.server.address = "127.0.0.1"
        builder.configuration.server.silent = true
        let backend = InMemoryBackend()
        builder.backend = backend
        let server = try builder.build()
        try await server.start()
        let base = "http://127.0.0.1:\(server.port)"
        do {
            #expect(try await request("PUT", "\(base)/notes", body: "").status == 200)
            #expect(try await request("PUT", "\(base)/notes/hello.txt", body: "hello, memory").status == 200)
            let fetched = try await request("GET", "\(base)/notes/hello.txt")
            #expect(fetched.status == 200)
            #expect(fetched.body == "hello, memory")
            // The bytes live in the backend the builder was given.
            let stored = try await backend.headObject(ObjectAddress(bucket: "notes", key: "hello.txt"), options: GetObjectOptions())
            #expect(stored.info.size == 13)
            #expect(try await backend.statistics() == StorageStatistics(buckets: 1, objects: 1, bytes: 13))
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
