import Logging
import ServiceLifecycle
import StowageCore

/// Aborts multipart uploads older than `multipart.expirationDays`, at start and then every
/// `multipart.cleanupIntervalMinutes`, so abandoned uploads do not hold disk space forever.
struct MultipartExpiryService: Service {
    let backend: any StorageBackend
    let configuration: StowageConfiguration.Multipart
    let logger: Logger

    func run() async throws {
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
