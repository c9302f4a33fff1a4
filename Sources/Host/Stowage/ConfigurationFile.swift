#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import StowageCore

extension StowageConfiguration {
    /// Reads a configuration from JSON (the field names of `StowageConfiguration`; every
    /// field optional). Errors name the file and the field.
    ///
    /// ```swift
    /// let configuration = try StowageConfiguration.load(json: #"{"server": {"port": 9000}}"#)
    /// ```
    public static func load(json: String, source: String = "configuration") throws -> StowageConfiguration {
        do {
            return try JSONDecoder().decode(StowageConfiguration.self, from: Data(json.utf8))
        } catch let error as ConfigurationError {
            throw error
        } catch let DecodingError.typeMismatch(type, context) {
            throw ConfigurationError(field: fieldPath(context), reason: "must be of type \(type) (\(source))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw ConfigurationError(field: fieldPath(context), reason: "must be a \(type), not null (\(source))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigurationError(field: fieldPath(context, key), reason: "is required (\(source))")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty {
                throw ConfigurationError(field: source, reason: "is not valid JSON: \(context.debugDescription)")
            }
            throw ConfigurationError(field: fieldPath(context), reason: "has an invalid value (\(context.debugDescription)) in \(source)")
        }
    }

    /// Reads a JSON configuration file.
    public static func load(file path: String) throws -> StowageConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(field: "--config", reason: "cannot read '\(path)'")
        }
        return try load(json: String(decoding: data, as: UTF8.self), source: path)
    }

    private static func fieldPath(_ context: DecodingError.Context, _ extra: (any CodingKey)? = nil) -> String {
        var parts: [String] = []
        for key in context.codingPath + (extra.map { [$0] } ?? []) {
            if let index = key.intValue { parts[parts.count - 1] += "[\(index)]" } else { parts.append(key.stringValue) }
        }
        return parts.joined(separator: ".")
    }
}
