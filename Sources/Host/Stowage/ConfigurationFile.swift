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
        try ConfigurationError.mappingDecoding(source: source) {
            try JSONDecoder().decode(StowageConfiguration.self, from: Data(json.utf8))
        }
    }

    /// Reads a JSON configuration file.
    public static func load(file path: String) throws -> StowageConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(field: "--config", reason: "cannot read '\(path)'")
        }
        return try load(json: String(decoding: data, as: UTF8.self), source: path)
    }
}
