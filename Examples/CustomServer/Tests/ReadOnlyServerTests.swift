import StowageCore
import Stowage
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ReadOnlyServer
import Testing

@Suite("Example: a read-only server assembled by hand", .timeLimit(.minutes(1)))
struct ReadOnlyServerTests {
    @Test func readsWorkAndWritesAreRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("read-only-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try makeReadOnlyServer(directory: directory, port: 0)
        try await server.start()
        do {
            try await server.createBucket("public")
            let base = "http://127.0.0.1:\(server.port)"
            let (listing, listed) = try await URLSession.shared.data(from: URL(string: "\(base)/public?list-type=2")!)
            #expect((listed as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: listing, as: UTF8.self).contains("<Name>public</Name>"))
            var put = URLRequest(url: URL(string: "\(base)/public/new.txt")!)
            put.httpMethod = "PUT"
            let (body, refused) = try await URLSession.shared.upload(for: put, from: Data("x".utf8))
            #expect((refused as? HTTPURLResponse)?.statusCode == 403)
            #expect(String(decoding: body, as: UTF8.self).contains("This server is read-only."))
            #expect(try await server.backend.listObjects(bucket: "public", query: .init()).objects.isEmpty)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
