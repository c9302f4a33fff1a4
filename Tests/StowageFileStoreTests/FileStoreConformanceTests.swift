import StowageBackendConformance
import StowageCore
import StowageFileStore
import Testing

@Suite("FileStore passes the backend conformance suite", .timeLimit(.minutes(2)))
struct FileStoreConformanceTests {
    @Test(arguments: BackendConformanceSuite.cases)
    func conformance(_ check: ConformanceCase) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStoreBackend(options: .init(directory: directory.path))
        try await store.open()
        do {
            try await check.run(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        // Whatever a case did, no upload may be left half-written.
        #expect(directory.files(under: ".stowage/tmp").isEmpty)
    }

    @Test("conformance holds with fsync on", arguments: BackendConformanceSuite.cases.filter { $0.name.hasPrefix("put") || $0.name.hasPrefix("overwrite") || $0.name.hasPrefix("delete") })
    func durableConformance(_ check: ConformanceCase) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileStoreBackend(options: .init(directory: directory.path, fsync: true))
        try await store.open()
        try await check.run(store)
        try await store.close()
    }
}
