import NIOCore
public import StowageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One conformance check, run against a fresh, opened backend.
public struct ConformanceCase: Sendable, CustomStringConvertible {
    public let name: String
    public let run: @Sendable (any StorageBackend) async throws -> Void

    public init(_ name: String, _ run: @escaping @Sendable (any StorageBackend) async throws -> Void) {
        self.name = name
        self.run = run
    }

    public var description: String { name }
}

/// A failed expectation inside a conformance case; the test runner reports it as a failure.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let message: String
    public let line: Int
    public var description: String { "line \(line): \(message)" }
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
    if !condition { throw ConformanceFailure(message: message(), line: line) }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String = "", line: Int = #line) throws {
    if actual != expected { throw ConformanceFailure(message: "\(what) expected \(expected), got \(actual)", line: line) }
}

/// Expects `body` to throw an `S3Error` with `code`.
func expectS3Error<T>(_ code: S3ErrorCode, line: Int = #line, _ body: () async throws -> T) async throws {
    do {
        _ = try await body()
    } catch let error as S3Error {
        if error.code != code { throw ConformanceFailure(message: "expected \(code.name), got \(error.code.name): \(error.message)", line: line) }
        return
    } catch {
        throw ConformanceFailure(message: "expected \(code.name), got \(error)", line: line)
    }
    throw ConformanceFailure(message: "expected \(code.name), but the call succeeded", line: line)
}

public enum Conformance {
    public static let owner = S3Identity.forCredential(accessKeyID: "conformance-owner")
    public static let stranger = S3Identity.forCredential(accessKeyID: "conformance-stranger")

    public static func body(_ bytes: [UInt8]) -> S3Body {
        S3Body(ByteBuffer(bytes: bytes))
    }

    /// A body delivered in chunks of `chunk` bytes, as a socket would.
    public static func chunkedBody(_ bytes: [UInt8], chunk: Int) -> S3Body {
        S3Body(stream: ChunkSequence(bytes: bytes, chunk: chunk, failAfter: nil), length: Int64(bytes.count))
    }

    /// A body whose stream fails after `failAfter` bytes, like a client that disconnects.
    public static func failingBody(_ bytes: [UInt8], failAfter: Int) -> S3Body {
        S3Body(stream: ChunkSequence(bytes: bytes, chunk: 4096, failAfter: failAfter), length: Int64(bytes.count))
    }

    public static func put(_ backend: any StorageBackend, _ bucket: String, _ key: String, _ bytes: [UInt8], metadata: ObjectMetadata = ObjectMetadata()) async throws -> ObjectInfo {
        try await backend.putObject(
            ObjectAddress(bucket: bucket, key: key), body: body(bytes),
            options: PutObjectOptions(metadata: metadata, owner: owner, expectedSize: Int64(bytes.count))
        )
    }

    /// Reads the bytes a GetObject returned (file region or stream).
    public static func readAll(_ result: ObjectReadResult) async throws -> [UInt8] {
        switch result.content {
        case .none:
            return []
        case .bytes(let buffer):
            return Array(buffer.readableBytesView)
        case .stream(let body, _):
            var out: [UInt8] = []
            for try await chunk in body { out.append(contentsOf: chunk.readableBytesView) }
            return out
        case .file(let region):
            guard let fd = region.descriptor.take() else { throw ConformanceFailure(message: "file region without a descriptor", line: #line) }
            defer { close(fd) }
            var out = [UInt8](repeating: 0, count: Int(region.length))
            var done = 0
            while done < out.count {
                let count = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(region.offset) + off_t(done)) }
                guard count > 0 else { throw ConformanceFailure(message: "short read of file region", line: #line) }
                done += count
            }
            return out
        }
    }

    public static func get(_ backend: any StorageBackend, _ bucket: String, _ key: String, options: GetObjectOptions = GetObjectOptions()) async throws -> [UInt8] {
        try await readAll(backend.getObject(ObjectAddress(bucket: bucket, key: key), options: options))
    }

    /// Lists everything under `prefix` page by page.
    public static func listAll(_ backend: any StorageBackend, _ bucket: String, prefix: String = "", delimiter: String? = nil, pageSize: Int) async throws -> (keys: [String], prefixes: [String], pages: Int) {
        var keys: [String] = []
        var prefixes: [String] = []
        var after: String?
        var pages = 0
        while true {
            let page = try await backend.listObjects(bucket: bucket, query: ListObjectsQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: pageSize))
            pages += 1
            keys += page.objects.map(\.key)
            prefixes += page.commonPrefixes
            guard page.isTruncated else { break }
            guard let next = page.nextMarker else { throw ConformanceFailure(message: "truncated page without a next marker", line: #line) }
            after = next
            if pages > 100_000 { throw ConformanceFailure(message: "listing does not terminate", line: #line) }
        }
        return (keys, prefixes, pages)
    }

    /// The S3 listing of `keys` computed naively: byte order, delimiter roll-up.
    public static func model(_ keys: [String], prefix: String, delimiter: String?) -> (keys: [String], prefixes: [String]) {
        var objects: [String] = []
        var prefixes = Set<String>()
        for key in keys where key.utf8.starts(with: prefix.utf8) {
            let bytes = Array(key.utf8)
            let rest = bytes[prefix.utf8.count...]
            if let delimiter, let end = firstEnd(of: Array(delimiter.utf8), in: rest) {
                prefixes.insert(String(decoding: bytes[..<end], as: UTF8.self))
            } else {
                objects.append(key)
            }
        }
        let byteOrder: (String, String) -> Bool = { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return (objects.sorted(by: byteOrder), prefixes.sorted(by: byteOrder))
    }
}

/// End index of the first occurrence of `needle` in `haystack`.
private func firstEnd(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
    guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
    var index = haystack.startIndex
    while index + needle.count <= haystack.endIndex {
        if haystack[index..<index + needle.count].elementsEqual(needle) { return index + needle.count }
        index += 1
    }
    return nil
}

struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    struct Disconnected: Error {}

    let bytes: [UInt8]
    let chunk: Int
    let failAfter: Int?

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let chunk: Int
        let failAfter: Int?
        var offset = 0

        mutating func next() async throws -> ByteBuffer? {
            if let failAfter, offset >= failAfter { throw Disconnected() }
            guard offset < bytes.count else { return nil }
            let end = Swift.min(bytes.count, offset + chunk)
            defer { offset = end }
            await Task.yield()
            return ByteBuffer(bytes: bytes[offset..<end])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, chunk: chunk, failAfter: failAfter) }
}
