import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Runs a benchmark and reports operations per second, throughput and latency percentiles.
///
/// ```swift
/// let report = try await BenchRunner.run(BenchConfiguration(host: "127.0.0.1", port: 9000, bucket: "bench", operation: .get))
/// print(report.table)
/// ```
public enum BenchRunner {
    public struct Report: Sendable {
        public var operation: String
        public var size: Int
        public var concurrency: Int
        public var seconds: Double
        public var operations: Int
        public var errors: Int
        public var operationsPerSecond: Double
        public var megabytesPerSecond: Double
        public var p50Milliseconds: Double
        public var p90Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        public var statusCounts: [Int: Int]

        public var table: String {
            let statuses = statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            return """
                | op | size | conns | seconds | ops | errors | ops/s | MB/s | p50 ms | p90 ms | p99 ms | max ms | statuses |
                |---|---|---|---|---|---|---|---|---|---|---|---|---|
                | \(operation) | \(size) | \(concurrency) | \(format(seconds)) | \(operations) | \(errors) | \(format(operationsPerSecond)) | \(format(megabytesPerSecond)) | \(format(p50Milliseconds)) | \(format(p90Milliseconds)) | \(format(p99Milliseconds)) | \(format(maxMilliseconds)) | \(statuses) |
                """
        }

        public var json: String {
            """
            {"op":"\(operation)","size":\(size),"concurrency":\(concurrency),"seconds":\(format(seconds)),"operations":\(operations),"errors":\(errors),"ops_per_s":\(format(operationsPerSecond)),"mb_per_s":\(format(megabytesPerSecond)),"p50_ms":\(format(p50Milliseconds)),"p90_ms":\(format(p90Milliseconds)),"p99_ms":\(format(p99Milliseconds)),"max_ms":\(format(maxMilliseconds))}
            """
        }

        private func format(_ value: Double) -> String {
            let scaled = (value * 100).rounded() / 100
            return "\(scaled)"
        }
    }

    public static func run(_ configuration: BenchConfiguration) async throws -> Report {
        let group = MultiThreadedEventLoopGroup.singleton
        let requests = BenchRequests(configuration)
        if configuration.prepare {
            _ = try await phase(configuration, group: group, concurrency: 1, duration: .seconds(30), limit: 1) { _ in requests.createBucket() }
            if configuration.operation != .put {
                let seeded = try await phase(configuration, group: group, concurrency: min(configuration.concurrency, 16), duration: .seconds(600),
                                             limit: configuration.objects) { index in requests.make(.put, index: index) }
                guard seeded.errors == 0 else { throw BenchError.seedingFailed(seeded.statusCounts) }
            }
        }
        let start = ContinuousClock.now
        let results = try await phase(configuration, group: group, concurrency: configuration.concurrency, duration: configuration.duration,
                                      limit: configuration.operation == .delete ? configuration.objects : nil) { index in
            requests.make(configuration.operation, index: index)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = results.latenciesMicros.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return Double(sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]) / 1000
        }
        let payload = configuration.operation == .put ? Int64(sorted.count) * Int64(configuration.size) : results.bytes
        return Report(
            operation: configuration.operation.rawValue, size: configuration.size, concurrency: configuration.concurrency, seconds: seconds,
            operations: sorted.count, errors: results.errors, operationsPerSecond: Double(sorted.count) / seconds,
            megabytesPerSecond: Double(payload) / 1e6 / seconds, p50Milliseconds: percentile(0.5), p90Milliseconds: percentile(0.9),
            p99Milliseconds: percentile(0.99), maxMilliseconds: percentile(1), statusCounts: results.statusCounts
        )
    }

    enum BenchError: Error, CustomStringConvertible {
        case seedingFailed([Int: Int])
        var description: String {
            switch self {
            case .seedingFailed(let statuses): "seeding objects failed (statuses \(statuses)); is the endpoint an S3 server that accepts these credentials?"
            }
        }
    }

    /// Runs `concurrency` connections until `duration` passes or `limit` requests were made.
    static func phase(_ configuration: BenchConfiguration, group: any EventLoopGroup, concurrency: Int, duration: Duration, limit: Int?,
                      make: @escaping @Sendable (Int) -> (HTTPRequestHead, ByteBuffer?)) async throws -> BenchConnection.Results {
        let counter = Atomic<Int>(0)
        let counterBox = CounterBox(counter: counter)
        let next: @Sendable () -> (HTTPRequestHead, ByteBuffer?)? = {
            let index = counterBox.next()
            if let limit, index >= limit { return nil }
            return make(index)
        }
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        let deadline = NIODeadline.now() + .nanoseconds(nanoseconds)
        var futures: [EventLoopFuture<BenchConnection.Results>] = []
        for _ in 0..<concurrency {
            let loop = group.next()
            let promise = loop.makePromise(of: BenchConnection.Results.self)
            let channel = ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(BenchConnection(next: next, deadline: deadline, done: promise))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
            channel.whenFailure { promise.fail($0) }
            futures.append(promise.futureResult)
        }
        var total = BenchConnection.Results()
        for future in futures {
            let results = try await future.get()
            total.latenciesMicros += results.latenciesMicros
            total.bytes += results.bytes
            total.errors += results.errors
            for (status, count) in results.statusCounts { total.statusCounts[status, default: 0] += count }
        }
        return total
    }
}

/// Hands out request indices across connections.
private final class CounterBox: Sendable {
    let counter: Atomic<Int>
    init(counter: consuming Atomic<Int>) { self.counter = counter }
    func next() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue }
}
