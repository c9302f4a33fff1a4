import ArgumentParser
import StowageBench

/// `stowage bench`: a warp-style load generator for any S3 endpoint.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure an S3 endpoint: one operation at a concurrency for a duration.",
        discussion: """
            Prints operations per second, MB/s and latency percentiles. GET/HEAD/LIST/DELETE first \
            store --objects objects of --size bytes. Requests are SigV4-signed (payload SHA-256 \
            signed, as SDKs sign over plain HTTP) unless --unsigned. Example:
              stowage bench --endpoint http://127.0.0.1:9000 --bucket bench --op get --size 4KiB --concurrency 32 --duration 10
            """
    )

    @Option(help: "The S3 endpoint, http://HOST:PORT.")
    var endpoint: String

    @Option(help: "Bucket to use (created unless --no-prepare).")
    var bucket: String = "stowage-bench"

    @Option(help: "put, get, head, list or delete.")
    var op: String = "put"

    @Option(help: "Object size (4096, 4KiB, 1MiB, ...).")
    var size: String = "4KiB"

    @Option(help: "Concurrent connections.")
    var concurrency: Int = 32

    @Option(help: "Seconds to run.")
    var duration: Double = 10

    @Option(help: "Objects stored before GET/HEAD/LIST/DELETE.")
    var objects: Int = 1000

    @Option(help: "Key prefix of the objects used.")
    var prefix: String = "stowage-bench/"

    @Option(help: "Access key id (signed requests).")
    var accessKey: String = "STORAGE"

    @Option(help: "Secret access key.")
    var secretKey: String = "STORAGE"

    @Option(help: "Region in the signature scope.")
    var region: String = "us-east-1"

    @Flag(help: "Send unsigned requests (for servers without S3 auth, such as nginx).")
    var unsigned = false

    @Flag(help: "Do not create the bucket or store objects first.")
    var noPrepare = false

    @Flag(help: "Print one JSON line instead of a table.")
    var json = false

    func run() async throws {
        guard let url = Endpoint(endpoint) else {
            throw ValidationError("--endpoint must look like http://HOST:PORT")
        }
        guard let operation = BenchConfiguration.Operation(rawValue: op.lowercased()) else {
            throw ValidationError("--op must be one of \(BenchConfiguration.Operation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let bytes = ByteSize.parse(size), bytes >= 0 else { throw ValidationError("--size is not a size: \(size)") }
        guard concurrency > 0, duration > 0, objects > 0 else { throw ValidationError("--concurrency, --duration and --objects must be positive") }
        let configuration = BenchConfiguration(
            host: url.host, port: url.port, bucket: bucket, operation: operation, size: bytes, concurrency: concurrency,
            duration: .milliseconds(Int64(duration * 1000)), objects: objects, prefix: prefix,
            credentials: unsigned ? nil : (accessKey, secretKey, region), prepare: !noPrepare
        )
        let report = try await BenchRunner.run(configuration)
        standardOutput((json ? report.json : report.table) + "\n")
    }
}

/// `http://host:port`.
struct Endpoint {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(7).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let parts = rest.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { return nil }
        host = String(parts[0])
        self.port = port
    }
}
