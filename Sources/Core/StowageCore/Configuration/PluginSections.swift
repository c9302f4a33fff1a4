#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value kept as written: a plugin's configuration section, held until the plugin that
/// owns it decodes it into its own type (see ``PluginEnvironment/section(_:as:)``).
public indirect enum ConfigurationValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    /// A whole number, kept exactly (a seed, a byte count).
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([ConfigurationValue])
    case object([String: ConfigurationValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([ConfigurationValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: ConfigurationValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Decodes this value as `T`; errors are ``ConfigurationError``s naming the field under
    /// `path` (`plugins.bearer.tokens[0]`).
    public func decode<T: Decodable>(as type: T.Type, path: String) throws -> T {
        let data = try JSONEncoder().encode(self)
        return try ConfigurationError.mappingDecoding(source: "configuration", prefix: path) {
            try JSONDecoder().decode(T.self, from: data)
        }
    }
}

extension ConfigurationError {
    /// Runs a decode and turns Foundation's decoding errors into errors that name the field,
    /// under `prefix` when the value decoded sits inside a larger configuration.
    public static func mappingDecoding<T>(source: String, prefix: String? = nil, _ decode: () throws -> T) throws -> T {
        func path(_ context: DecodingError.Context, _ extra: (any CodingKey)? = nil) -> String {
            var parts: [String] = prefix.map { [$0] } ?? []
            for key in context.codingPath + (extra.map { [$0] } ?? []) {
                // Array positions are "Index N"; a dictionary key that is a number ("42") is a name.
                if let index = key.intValue, key.stringValue == "Index \(index)", !parts.isEmpty {
                    parts[parts.count - 1] += "[\(index)]"
                } else {
                    parts.append(key.stringValue)
                }
            }
            return parts.joined(separator: ".")
        }
        do {
            return try decode()
        } catch var error as ConfigurationError {
            if let prefix, !error.field.hasPrefix(prefix) { error.field = "\(prefix).\(error.field)" }
            throw error
        } catch let DecodingError.typeMismatch(type, context) {
            throw ConfigurationError(field: path(context), reason: "must be of type \(type) (\(source))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw ConfigurationError(field: path(context), reason: "must be a \(type), not null (\(source))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigurationError(field: path(context, key), reason: "is required (\(source))")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty, prefix == nil {
                throw ConfigurationError(field: source, reason: "is not valid JSON: \(context.debugDescription)")
            }
            throw ConfigurationError(field: path(context), reason: "has an invalid value (\(context.debugDescription)) in \(source)")
        }
    }
}

/// Rejects keys a configuration section does not know, so a typo never silently falls back to
/// a default. Call it first in a section's `init(from:)`; plugins use it for their own sections.
///
/// ```swift
/// struct TokensSection: Decodable {
///     enum CodingKeys: String, CodingKey, CaseIterable { case tokens }
///     var tokens: [String: String]
///     init(from decoder: any Decoder) throws {
///         try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
///         tokens = try decoder.container(keyedBy: CodingKeys.self).decode([String: String].self, forKey: .tokens)
///     }
/// }
/// ```
public enum StrictKeys {
    public static func reject<K: CodingKey & CaseIterable>(_ decoder: any Decoder, unknownTo known: K.Type) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let names = Set(K.allCases.map(\.stringValue))
        for key in container.allKeys where !names.contains(key.stringValue) {
            let path = (decoder.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw ConfigurationError(field: path, reason: "is not a known field")
        }
    }

    struct AnyCodingKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }
}
