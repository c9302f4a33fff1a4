/// What `stowage bench` runs: one operation against any S3 endpoint, at a concurrency, for a
/// duration (warp-style).
public struct BenchConfiguration: Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case put, get, head, list, delete
    }

    public var host: String
    public var port: Int
    public var bucket: String
    public var operation: Operation
    /// Object size for PUT and for the objects GET/HEAD/DELETE read.
    public var size: Int
    public var concurrency: Int
    public var duration: Duration
    /// Objects stored before GET/HEAD/LIST/DELETE runs.
    public var objects: Int
    public var prefix: String
    /// `nil` sends unsigned requests (nginx, servers without auth).
    public var credentials: (accessKeyID: String, secretAccessKey: String, region: String)?
    /// Create the bucket and seed objects first (off for nginx, which has no buckets to create).
    public var prepare: Bool

    public init(host: String, port: Int, bucket: String, operation: Operation, size: Int = 4096, concurrency: Int = 32,
                duration: Duration = .seconds(10), objects: Int = 1000, prefix: String = "stowage-bench/",
                credentials: (accessKeyID: String, secretAccessKey: String, region: String)? = nil, prepare: Bool = true) {
        self.host = host
        self.port = port
        self.bucket = bucket
        self.operation = operation
        self.size = size
        self.concurrency = concurrency
        self.duration = duration
        self.objects = objects
        self.prefix = prefix
        self.credentials = credentials
        self.prepare = prepare
    }
}

/// Parses sizes like `4KiB`, `64MiB`, `1GiB`, `4096`.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1)]
        let upper = text.uppercased()
        for (suffix, factor) in units where upper.hasSuffix(suffix) {
            return Int(upper.dropLast(suffix.count)).map { $0 * factor }
        }
        return Int(text)
    }
}
