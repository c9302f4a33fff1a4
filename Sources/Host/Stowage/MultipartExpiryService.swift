import Logging
import StowageCore

/// Aborts multipart uploads older than `multipart.expirationDays`, at start and then every
/// `multipart.cleanupIntervalMinutes`, so abandoned uploads do not hold disk space forever.
struct MultipartExpiryService: StowageService {
    let backend: any StorageBackend
    let configuration: StowageConfiguration.Multipart
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            let cutoff = S3Timestamp(millisecondsSinceEpoch: S3Timestamp.now.millisecondsSinceEpoch - Int64(configuration.expirationDays) * 86_400_000)
            do {
                _ = try await backend.expireMultipartUploads(initiatedBefore: cutoff)
            } catch {
                logger.warning("multipart expiry failed", metadata: ["error": "\(error)"])
            }
            do {
                try await Task.sleep(for: .seconds(Double(configuration.cleanupIntervalMinutes) * 60))
            } catch {
                return
            }
        }
    }
}

/// A long-running piece that lives as long as the server: started after the server listens,
/// cancelled when it stops (`run` should return promptly on cancellation).
///
/// ```swift
/// struct Heartbeat: StowageService {
///     func run() async {
///         while !Task.isCancelled { try? await Task.sleep(for: .seconds(30)); print("alive") }
///     }
/// }
/// var builder = StowageBuilder(configuration: configuration)
/// builder.services.append(Heartbeat())
/// ```
public protocol StowageService: Sendable {
    func run() async
}
