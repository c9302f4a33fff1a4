import Stowage
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StowageCore
import StowageSigV4
import StowageTesting
import Testing

@Suite("withStowage: an isolated server per test", .timeLimit(.minutes(1)))
struct WithStowageTests {
    @Test func seedsAndServesOverHTTP() async throws {
        let directory = try await withStowage(buckets: ["fixtures"]) { server in
            try await server.put("fixtures", "hello.txt", Array("hi there".utf8), contentType: "text/plain")
            let url = URL(string: "\(server.endpointURL)/fixtures/hello.txt")!
            let (data, response) = try await URLSession.shared.data(from: url)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self) == "hi there")
            #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") == "text/plain")
            return server.server.configuration.storage.directory
        }
        #expect(!FileManager.default.fileExists(atPath: directory), "the temp directory is removed")
    }

    @Test func signedClientWritesAndHelpersRead() async throws {
        // Authentication on: the request must carry a valid SigV4 signature.
        try await withStowage(buckets: ["uploads"], configure: { $0.auth.enabled = true }) { server in
            let descriptor = server.descriptor
            let signer = SigV4Signer(accessKeyID: descriptor.accessKey, secretAccessKey: descriptor.accessSecret, region: "us-east-1")
            let body = Array("uploaded by a signed client".utf8)
            var request = URLRequest(url: URL(string: "\(server.endpointURL)/uploads/doc.txt")!)
            request.httpMethod = "PUT"
            let host = "localhost:\(descriptor.port)"
            for (name, value) in signer.sign(method: "PUT", path: "/uploads/doc.txt", query: [], headers: [("host", host)],
                                             payloadHash: SHA256.hex(body), date: .now) where name.lowercased() != "host" {
                request.setValue(value, forHTTPHeaderField: name)
            }
            let (_, response) = try await URLSession.shared.upload(for: request, from: Data(body))
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(try await server.get("uploads", "doc.txt") == body)
            #expect(try await server.keys("uploads") == ["doc.txt"])
            #expect(try await server.get("uploads", "missing") == nil)
            var unsigned = URLRequest(url: URL(string: "\(server.endpointURL)/uploads/doc.txt")!)
            unsigned.httpMethod = "GET"
            let (_, refused) = try await URLSession.shared.data(for: unsigned)
            #expect((refused as? HTTPURLResponse)?.statusCode == 403)
        }
    }

    @Test func aDirectoryTheCallerChoseIsNeitherWipedNorRemoved() async throws {
        let mine = FileManager.default.temporaryDirectory.appendingPathComponent("caller-owned-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: mine) }
        _ = try await withStowage(buckets: ["kept"], configure: { $0.storage.directory = mine }) { server in
            try await server.put("kept", "k", Array("v".utf8))
        }
        #expect(FileManager.default.fileExists(atPath: mine))
        let kept = try await withStowage(configure: { $0.storage.directory = mine }) { server in
            try await server.get("kept", "k")
        }
        #expect(kept == Array("v".utf8), "not wiped on the next start")
    }

    @Test func serversRunSideBySide() async throws {
        try await withStowage { first in
            try await withStowage(configure: { $0.server.region = "eu-west-1" }) { second in
                #expect(first.descriptor.port != second.descriptor.port)
                try await first.createBucket("only-in-first")
                #expect(try await second.server.backend.listBuckets().isEmpty)
            }
        }
    }
}
