import CoreMetrics
import Prometheus
import StowageCore
import Synchronization

/// The server's metrics, through swift-metrics into a Prometheus registry of its own (not the
/// process-wide `MetricsSystem`, so several servers in one process never mix their counts).
///
/// Exposed at `/_stowage/metrics`: requests by operation and status, latency histograms by
/// operation, bytes in and out, open connections, and what is stored.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let bytesIn: CoreMetrics.Counter
    private let bytesOut: CoreMetrics.Counter
    private let connections: CoreMetrics.Gauge
    private let openConnections = Atomic<Int>(0)
    private let storedBuckets: CoreMetrics.Gauge
    private let storedObjects: CoreMetrics.Gauge
    private let storedBytes: CoreMetrics.Gauge
    /// swift-metrics handles by (operation, status): creating one costs a registry lookup
    /// under a lock and an allocation, so each is made once.
    /// The backend's counter totals at the last scrape.
    private let backendTotals = Mutex<[String: Int64]>([:])
    private let handles = Mutex<[HandleKey: (requests: CoreMetrics.Counter, latency: CoreMetrics.Timer)]>([:])
    private struct HandleKey: Hashable {
        let operation: String
        let status: Int
    }

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.factory = factory
        bytesIn = CoreMetrics.Counter(label: "stowage_received_bytes_total", factory: factory)
        bytesOut = CoreMetrics.Counter(label: "stowage_sent_bytes_total", factory: factory)
        connections = CoreMetrics.Gauge(label: "stowage_open_connections", factory: factory)
        storedBuckets = CoreMetrics.Gauge(label: "stowage_stored_buckets", factory: factory)
        storedObjects = CoreMetrics.Gauge(label: "stowage_stored_objects", factory: factory)
        storedBytes = CoreMetrics.Gauge(label: "stowage_stored_bytes", factory: factory)
    }

    // The gauge is set from the counter when scraped: recording on every open and close could
    // land out of order across event loops and stick at a wrong value.
    func connectionOpened() {
        openConnections.add(1, ordering: .relaxed)
    }

    func connectionClosed() {
        openConnections.subtract(1, ordering: .relaxed)
    }

    func requestFinished(operation: String, status: Int, duration: Duration, bytesIn received: Int64, bytesOut sent: Int64) {
        let key = HandleKey(operation: operation, status: status)
        let handle = handles.withLock { handles in
            if let existing = handles[key] { return existing }
            let made = (
                requests: CoreMetrics.Counter(label: "stowage_requests_total", dimensions: [("operation", operation), ("status", "\(status)")], factory: factory),
                latency: CoreMetrics.Timer(label: "stowage_request_duration_seconds", dimensions: [("operation", operation)], factory: factory)
            )
            handles[key] = made
            return made
        }
        handle.requests.increment()
        let (seconds, attoseconds) = duration.components
        handle.latency.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if received > 0 { bytesIn.increment(by: received) }
        if sent > 0 { bytesOut.increment(by: sent) }
    }

    /// The Prometheus text exposition, with storage totals read from the backend now.
    func render(backend: any StorageBackend) async -> [UInt8] {
        connections.record(openConnections.load(ordering: .relaxed))
        if let statistics = await statistics(backend) {
            storedBuckets.record(statistics.buckets)
            storedObjects.record(statistics.objects)
            storedBytes.record(statistics.bytes)
        }
        // 0 ok, 1 degraded, 2 unavailable: per component, and the backend as a whole.
        let health = await backend.health()
        let levels = BackendHealth.Status.allCases
        CoreMetrics.Gauge(label: "stowage_backend_health", dimensions: [("component", "all")], factory: factory)
            .record(levels.firstIndex(of: health.status)!)
        for component in health.components {
            CoreMetrics.Gauge(label: "stowage_backend_health", dimensions: [("component", component.name)], factory: factory)
                .record(levels.firstIndex(of: component.status)!)
        }
        if let source = backend as? any BackendMetricsSource {
            record(await source.metrics())
        }
        return registry.emitToBuffer()
    }

    /// Totals the backend keeps become counters advanced by what they grew since the last
    /// scrape; gauges are set.
    private func record(_ metrics: [BackendMetric]) {
        for metric in metrics {
            let dimensions = metric.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            switch metric.kind {
            case .gauge:
                CoreMetrics.Gauge(label: metric.name, dimensions: dimensions, factory: factory).record(metric.value)
            case .counter:
                let key = metric.name + "|" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                let grown = backendTotals.withLock { totals -> Int64 in
                    defer { totals[key] = metric.value }
                    return metric.value - (totals[key] ?? 0)
                }
                let counter = CoreMetrics.Counter(label: metric.name, dimensions: dimensions, factory: factory)
                // Made even when it did not grow: a counter at 0 is exposed as 0, not missing.
                if grown > 0 { counter.increment(by: grown) }
            }
        }
    }

    /// Storage totals can be a scan (FileStore aggregates its index): computed off the event
    /// loops, so a scrape never stalls the connections sharing the scraper's loop.
    private func statistics(_ backend: any StorageBackend) async -> StorageStatistics? {
        await Task.detached { try? await backend.statistics() }.value
    }
}
