import Foundation
import NIOCore
public import Stowage
public import StowageCore

/// A server for one test: its own free port on 127.0.0.1, its own temp directory, removed
/// afterwards whatever the test does.
///
/// ```swift
/// import StowageTesting
/// import Testing
///
/// @Test func uploadsAvatar() async throws {
///     try await withStowage(buckets: ["avatars"]) { server in
///         try await server.put("avatars", "a.png", Array("png".utf8))
///         let app = MyApp(s3Endpoint: server.endpointURL, accessKey: server.descriptor.accessKey,
///                         secretKey: server.descriptor.accessSecret)
///         try await app.resizeAvatar("a.png")
///         #expect(try await server.get("avatars", "a-small.png") != nil)
///     }
/// }
/// ```
public func withStowage<T>(
    buckets: [String] = [],
    configure: (inout StowageConfiguration) -> Void = { _ in },
    _ body: (TestStowage) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("stowage-test-\(UUID().uuidString)").path
    var configuration = StowageConfiguration()
    configuration.server.port = 0
    configuration.server.address = "127.0.0.1"
    configuration.server.silent = true
    configuration.storage.directory = directory
    configure(&configuration)
    // Only the temp directory made here is removed; a directory the closure chose is the caller's.
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let server = try await Stowage.createAndStart(configuration)
    let test = TestStowage(server: server)
    do {
        for bucket in buckets { try await server.createBucket(bucket) }
        let result = try await body(test)
        try await server.stop()
        return result
    } catch {
        try? await server.stop()
        throw error
    }
}

/// The running server of `withStowage`, with seeding helpers that go straight to the backend.
public struct TestStowage: Sendable {
    public let server: Stowage

    /// `http://localhost:<port>`.
    public var endpointURL: String { server.storageDescriptor().endpointURL }
    /// Endpoint, port and credentials for any S3 client.
    public var descriptor: StorageDescriptor { server.storageDescriptor() }

    @discardableResult
    public func createBucket(_ name: String) async throws -> BucketInfo {
        try await server.createBucket(name)
    }

    /// Stores an object as if a client had PUT it.
    @discardableResult
    public func put(_ bucket: String, _ key: String, _ bytes: [UInt8], contentType: String? = nil) async throws -> ObjectInfo {
        var metadata = ObjectMetadata()
        metadata.contentType = contentType
        return try await server.backend.putObject(
            ObjectAddress(bucket: bucket, key: key), body: S3Body(ByteBuffer(bytes: bytes)),
            options: PutObjectOptions(metadata: metadata, owner: server.configuration.auth.credentials[0].identity, expectedSize: Int64(bytes.count))
        )
    }

    /// An object's bytes, or `nil` when there is no such object.
    public func get(_ bucket: String, _ key: String) async throws -> [UInt8]? {
        let read: ObjectReadResult
        do {
            read = try await server.backend.getObject(ObjectAddress(bucket: bucket, key: key), options: GetObjectOptions())
        } catch let error as S3Error where error.code == .noSuchKey {
            return nil
        }
        switch read.content {
        case .none: return []
        case .bytes(let buffer): return Array(buffer.readableBytesView)
        case .stream(let body, _): return Array(try await body.collect(upTo: Int.max, orThrow: S3Error(.internalError)).readableBytesView)
        case .file(let region):
            guard let fd = region.descriptor.take() else { return nil }
            defer { _ = close(fd) }
            guard let bytes = PositionalRead.exactly(fd, offset: region.offset, length: Int(region.length)) else {
                throw S3Error(.internalError, message: "The object's file came up short.")
            }
            return Array(bytes.readableBytesView)
        }
    }

    /// Keys in a bucket, in S3 order.
    public func keys(_ bucket: String, prefix: String = "") async throws -> [String] {
        var keys: [String] = []
        var after: String?
        while true {
            let page = try await server.backend.listObjects(bucket: bucket, query: ListObjectsQuery(prefix: prefix, after: after))
            keys += page.objects.map(\.key)
            guard page.isTruncated, let last = page.objects.last?.key else { return keys }
            after = last
        }
    }
}
