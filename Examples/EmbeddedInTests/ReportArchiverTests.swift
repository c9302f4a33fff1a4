// Testing code that talks to S3 against a real Stowage per test: `withStowage` starts an
// isolated server (free port, temp directory), seeds buckets, and removes everything after.
//
//     swift test --filter EmbeddedInTestsExample
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StowageTesting
import Testing

/// The code under test: archives a report under a date prefix with plain HTTP (any S3 SDK
/// would do; the server is real either way).
struct ReportArchiver {
    let endpoint: String
    let bucket: String

    func archive(_ report: String, day: String) async throws -> String {
        let key = "reports/\(day)/summary.txt"
        var request = URLRequest(url: URL(string: "\(endpoint)/\(bucket)/\(key)")!)
        request.httpMethod = "PUT"
        request.setValue("text/plain", forHTTPHeaderField: "Content-Type")
        let (_, response) = try await URLSession.shared.upload(for: request, from: Data(report.utf8))
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw URLError(.badServerResponse) }
        return key
    }
}

@Suite("Example: a component tested against an embedded Stowage", .timeLimit(.minutes(1)))
struct ReportArchiverTests {
    @Test func archivesUnderTheDayPrefix() async throws {
        try await withStowage(buckets: ["archive"]) { s3 in
            try await s3.put("archive", "reports/2026-11-24/summary.txt", Array("yesterday".utf8))
            let archiver = ReportArchiver(endpoint: s3.endpointURL, bucket: "archive")
            let key = try await archiver.archive("all green", day: "2026-11-25")
            #expect(key == "reports/2026-11-25/summary.txt")
            #expect(try await s3.get("archive", key) == Array("all green".utf8))
            #expect(try await s3.keys("archive", prefix: "reports/") == ["reports/2026-11-24/summary.txt", key])
        }
    }
}
