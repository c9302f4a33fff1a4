/// Where a backend runs long work.
///
/// The executor contract: a request's task runs on its connection's event loop (the host sets
/// that loop as the task's executor preference), which is the cheapest place for a small
/// request, socket to socket on one thread. Anything that may take long there — hashing or
/// writing a large body, a multi-GiB copy, assembling a multipart object, erasure coding —
/// would stall every other connection on the loop, so a backend runs it through ``Offload``,
/// on the global concurrent executor, where receiving, hashing and writing also overlap.
///
/// ```swift
/// let written = try await Offload.run(Offload.isHeavy(declaredSize: options.expectedSize)) {
///     try await temp.write(body: body, ingest: ingest)
/// }
/// ```
public enum Offload {
    /// Bodies at least this large leave the event loop.
    public static let threshold: Int64 = 1 << 20

    /// Whether a body of `declaredSize` bytes is heavy; a body of unknown size (HTTP chunked
    /// transfer) may be large, so it is.
    public static func isHeavy(declaredSize: Int64?) -> Bool {
        (declaredSize ?? threshold) >= threshold
    }

    /// Runs `body` on the global concurrent executor when `heavy`, else where the caller runs.
    public static func run<T>(_ heavy: Bool, _ body: () async throws -> T) async throws -> T {
        guard heavy else { return try await body() }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await body() }
    }
}
