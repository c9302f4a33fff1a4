import Foundation
@testable import StowageCore
import Testing

@Suite("Configuration defaults, decoding and validation")
struct ConfigurationTests {
    let decoder = JSONDecoder()

    @Test("defaults are the documented values")
    func defaults() {
        let configuration = StowageConfiguration()
        #expect(configuration.server.port == 3000)
        #expect(configuration.server.address == "0.0.0.0")
        #expect(configuration.server.silent == false)
        #expect(configuration.server.region == "us-east-1")
        #expect(configuration.storage.directory == ".nogit/bucketsDir")
        #expect(configuration.storage.cleanSlate == false)
        #expect(configuration.auth.enabled == false)
        #expect(configuration.auth.credentials == [.init(accessKeyId: "STORAGE", secretAccessKey: "STORAGE")])
        #expect(configuration.cors.enabled == false)
        #expect(configuration.logging.level == "info")
        #expect(configuration.logging.format == "text")
        #expect(configuration.limits.maxObjectSize == 5 * 1024 * 1024 * 1024)
        #expect(configuration.limits.maxMetadataSize == 2048)
        #expect(configuration.limits.requestTimeout == 300_000)
        #expect(configuration.multipart.expirationDays == 7)
        #expect(configuration.multipart.cleanupIntervalMinutes == 60)
    }

    @Test("every field is optional and partial sections keep other defaults")
    func partial() throws {
        let empty = try decoder.decode(StowageConfiguration.self, from: Data("{}".utf8))
        #expect(empty == StowageConfiguration())
        let partial = try decoder.decode(StowageConfiguration.self, from: Data(#"{"server": {"port": 9000}, "storage": {"cleanSlate": true}}"#.utf8))
        #expect(partial.server.port == 9000)
        #expect(partial.server.address == "0.0.0.0")
        #expect(partial.storage.cleanSlate)
        #expect(partial.storage.directory == ".nogit/bucketsDir")
    }

    @Test("round trip through JSON")
    func roundTrip() throws {
        var configuration = StowageConfiguration()
        configuration.server.port = 1234
        configuration.auth.credentials = [.init(accessKeyId: "a", secretAccessKey: "b"), .init(accessKeyId: "c", secretAccessKey: "d")]
        let data = try JSONEncoder().encode(configuration)
        #expect(try decoder.decode(StowageConfiguration.self, from: data) == configuration)
    }

    @Test("unknown fields are rejected with their path", arguments: [
        (#"{"sever": {}}"#, "sever"),
        (#"{"server": {"prot": 1}}"#, "server.prot"),
        (#"{"server": {"tls": {"certFile": "c.pem"}}}"#, "server.tls.certFile"),
        (#"{"auth": {"credentials": [{"accessKeyId": "a", "secretAccessKey": "b", "x": 1}]}}"#, "auth.credentials"),
    ])
    func unknownFields(json: String, field: String) {
        do {
            _ = try decoder.decode(StowageConfiguration.self, from: Data(json.utf8))
            Issue.record("decoding should fail")
        } catch let error as ConfigurationError {
            #expect(error.field.hasPrefix(field), "\(error.field)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("validation names the field")
    func validation() {
        var configuration = StowageConfiguration()
        configuration.server.port = 70000
        #expect(throws: ConfigurationError(field: "server.port", reason: "must be 0...65535 (0 picks a free port)")) { try configuration.validate() }
        configuration = StowageConfiguration()
        configuration.logging.level = "loud"
        #expect { try configuration.validate() } throws: { ($0 as? ConfigurationError)?.field == "logging.level" }
        configuration = StowageConfiguration()
        configuration.auth.credentials = []
        #expect { try configuration.validate() } throws: { ($0 as? ConfigurationError)?.field == "auth.credentials" }
        configuration = StowageConfiguration()
        configuration.server.tls.certificateFile = "cert.pem"
        #expect { try configuration.validate() } throws: { ($0 as? ConfigurationError)?.field == "server.tls.privateKeyFile" }
        configuration.server.tls.privateKeyFile = "key.pem"
        try? configuration.validate()
        configuration.server.tls.selfSigned = true
        #expect { try configuration.validate() } throws: { ($0 as? ConfigurationError)?.field == "server.tls.selfSigned" }
    }

    @Test("TLS from JSON and from the environment")
    func tls() throws {
        let json = #"{"server": {"tls": {"certificateFile": "/etc/c.pem", "privateKeyFile": "/etc/k.pem"}}}"#
        let decoded = try decoder.decode(StowageConfiguration.self, from: Data(json.utf8))
        #expect(decoded.server.tls.certificateFile == "/etc/c.pem" && decoded.server.tls.privateKeyFile == "/etc/k.pem")
        #expect(decoded.server.tls.isEnabled && !StowageConfiguration().server.tls.isEnabled)
        let environment = try StowageConfiguration().applyingEnvironment(["STOWAGE_TLS_SELF_SIGNED": "true"])
        #expect(environment.server.tls.selfSigned)
    }
}

@Suite struct EnvironmentConfigurationTests {
    @Test func variablesSetTheirFields() throws {
        let c = try StowageConfiguration().applyingEnvironment([
            "STOWAGE_PORT": "9000", "STOWAGE_DIRECTORY": "/srv/s3", "STOWAGE_DOMAINS": "a.test, b.test",
            "STOWAGE_CLEAN_SLATE": "yes", "STOWAGE_AUTH_ENABLED": "1", "STOWAGE_ACCESS_KEY": "K", "STOWAGE_SECRET_KEY": "S",
            "STOWAGE_CORS_ORIGINS": "http://x.test", "STOWAGE_LOG_FORMAT": "json", "UNRELATED": "ignored", "STOWAGE_REGION": "",
        ])
        #expect(c.server.port == 9000)
        #expect(c.storage.directory == "/srv/s3")
        #expect(c.server.domains == ["a.test", "b.test"])
        #expect(c.storage.cleanSlate)
        #expect(c.auth.enabled)
        #expect(c.auth.credentials == [.init(accessKeyId: "K", secretAccessKey: "S")])
        #expect(c.cors.allowedOrigins == ["http://x.test"])
        #expect(c.logging.format == "json")
        #expect(c.server.region == "us-east-1", "an empty variable is unset")
    }

    @Test func badValuesNameTheVariable() {
        // A lone half of a credential names the missing half.
        for (name, value, field) in [("STOWAGE_PORT", "x", "STOWAGE_PORT"), ("STOWAGE_SILENT", "perhaps", "STOWAGE_SILENT"),
                                     ("STOWAGE_SECRET_KEY", "half", "STOWAGE_ACCESS_KEY")] {
            #expect { try StowageConfiguration().applyingEnvironment([name: value]) } throws: { ($0 as? ConfigurationError)?.field == field }
        }
    }

    @Test func misspeltVariablesAreNamedWithTheirLikelyIntent() {
        let warnings = StowageConfiguration.misspeltEnvironmentVariables([
            "STOWAGE_PROT": "9000",            // transposed
            "STOWAGE_DIRECTRY": "/data",       // a letter short
            "STOWAGE_LOGLEVEL": "debug",       // underscore missing
            "STOWAGE_PORT": "9000",            // known
            "STOWAGE_BIN": "/usr/bin/stowage", // a script's own: far from every known name
            "STOWAGE_ROOT": "/src",            // two edits from PORT, in a short name: not a typo
            "STOWAGE_HOST": "0.0.0.0",         // likewise
            "HOME": "/root",
        ])
        #expect(warnings == [
            "ignoring STOWAGE_DIRECTRY (did you mean STOWAGE_DIRECTORY?)",
            "ignoring STOWAGE_LOGLEVEL (did you mean STOWAGE_LOG_LEVEL?)",
            "ignoring STOWAGE_PROT (did you mean STOWAGE_PORT?)",
        ])
        #expect(StowageConfiguration.editDistance("", "abc") == 3)
        #expect(StowageConfiguration.editDistance("kitten", "sitting") == 3)
        #expect(StowageConfiguration.editDistance("PROT", "PORT") == 1)
    }
}

@Suite("Plugin configuration sections and backend health")
struct PluginSectionTests {
    struct Section: Decodable, Equatable {
        enum CodingKeys: String, CodingKey, CaseIterable { case name, count, tags }
        var name: String
        var count: Int
        var tags: [String]
        init(from decoder: any Decoder) throws {
            try StrictKeys.reject(decoder, unknownTo: CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            count = try c.decode(Int.self, forKey: .count)
            tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
        }
    }

    func value(_ json: String) throws -> ConfigurationValue {
        try JSONDecoder().decode(ConfigurationValue.self, from: Data(json.utf8))
    }

    @Test("a section decodes strictly, and errors name the field under its path")
    func strictSection() throws {
        let section = try value(#"{"name": "a", "count": 3, "tags": ["x"]}"#).decode(as: Section.self, path: "plugins.demo")
        #expect(section.name == "a" && section.count == 3 && section.tags == ["x"])
        #expect { try value(#"{"name": "a", "count": 3, "colour": 1}"#).decode(as: Section.self, path: "plugins.demo") } throws: {
            ($0 as? ConfigurationError)?.field == "plugins.demo.colour"
        }
        #expect { try value(#"{"name": "a"}"#).decode(as: Section.self, path: "plugins.demo") } throws: {
            ($0 as? ConfigurationError)?.field == "plugins.demo.count"
        }
        #expect { try value(#"{"name": "a", "count": "three"}"#).decode(as: Section.self, path: "plugins.demo") } throws: {
            ($0 as? ConfigurationError)?.field == "plugins.demo.count"
        }
        #expect { try value(#"{"name": "a", "count": 1, "tags": ["x", 2]}"#).decode(as: Section.self, path: "plugins.demo") } throws: {
            ($0 as? ConfigurationError)?.field == "plugins.demo.tags[1]"
        }
    }

    @Test("numbers stay exact, and a numeric dictionary key is named, not indexed")
    func numbersAndNumericKeys() throws {
        struct Seeds: Decodable { var seed: Int64; var names: [String: Int] }
        let decoded = try value(#"{"seed": 9007199254740993, "names": {"42": 7}}"#).decode(as: Seeds.self, path: "plugins.demo")
        #expect(decoded.seed == 9007199254740993 && decoded.names["42"] == 7)
        #expect { try value(#"{"seed": 1, "names": {"42": "x"}}"#).decode(as: Seeds.self, path: "plugins.demo") } throws: {
            ($0 as? ConfigurationError)?.field == "plugins.demo.names.42"
        }
    }

    @Test("sections survive a configuration round trip")
    func roundTrip() throws {
        let configuration = try JSONDecoder().decode(StowageConfiguration.self, from: Data(#"{"plugins": {"demo": {"name": "a", "count": 2}}}"#.utf8))
        let again = try JSONDecoder().decode(StowageConfiguration.self, from: JSONEncoder().encode(configuration))
        #expect(again == configuration)
        #expect(try again.plugins["demo"]?.decode(as: Section.self, path: "plugins.demo").count == 2)
    }

    @Test("health is the worst component's status, and its JSON escapes details")
    func health() {
        #expect(BackendHealth.ok.status == .ok)
        let health = BackendHealth(components: [
            .init(name: "drive 1", status: .ok), .init(name: "drive 2", status: .degraded, detail: "said \"no\"\n"),
        ])
        #expect(health.status == .degraded)
        #expect(health.json == #"{"status":"degraded","components":[{"name":"drive 1","status":"ok"},{"name":"drive 2","status":"degraded","detail":"said \"no\"\u000a"}]}"#)
        #expect(BackendHealth(components: [.init(name: "a", status: .unavailable), .init(name: "b", status: .degraded)]).status == .unavailable)
    }
}
