import Foundation
public import Logging
import StowageCore

/// A swift-log handler writing one JSON object per line to standard error (`logging.format:
/// json`), for log shippers: `{"time":…,"level":"info","label":"stowage.access","message":…,
/// "metadata":{…}}`.
///
/// ```swift
/// LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: .info) }
/// ```
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = self.metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var object: [String: Any] = [
            "time": S3Timestamp.now.iso8601, "level": "\(event.level)", "label": label, "message": "\(event.message)",
        ]
        if !fields.isEmpty { object["metadata"] = Self.plain(fields) }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        // One write per line, so concurrent lines do not interleave.
        line.withUnsafeBytes { StandardStreams.write($0, to: .error) }
    }

    static func plain(_ metadata: Logger.Metadata) -> [String: Any] {
        metadata.mapValues(plain)
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(plain)
        case .dictionary(let nested): plain(nested)
        }
    }
}
