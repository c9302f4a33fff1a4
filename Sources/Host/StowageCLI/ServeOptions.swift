import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Stowage
import StowageCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `stowage serve` was asked to do: the flags as plain values, parsed either by
/// ArgumentParser (`Serve`) or by the fast path below.
struct ServeOptions: Equatable, Sendable {
    var config: String?
    var port: Int?
    var address: String?
    var directory: String?
    var cleanSlate = false
    var region: String?
    var silent = false
    var logLevel: String?
    var fsync = false
    var management = false
    var shutdownGracePeriod: Int?
    var auth = false
    var accessKey: String?
    var secretKey: String?
    var tlsCert: String?
    var tlsKey: String?
    var tlsSelfSigned = false
    var drives: String?
    var erasure: String?
}

/// The fast path: no reflection, no allocation beyond the values.
extension ServeOptions {
    enum FastOption: Sendable {
        case value(@Sendable (inout ServeOptions, String) -> Bool)
        case flag(@Sendable (inout ServeOptions) -> Void)
    }

    /// Every option the fast path knows, by long name. `Serve` declares the same ones (a test
    /// holds the two lists equal, and parses through both).
    static let fastOptions: [String: FastOption] = [
        "config": .value { $0.config = $1; return true },
        "port": .value { options, text in Int(text).map { options.port = $0 } != nil },
        "address": .value { $0.address = $1; return true },
        "directory": .value { $0.directory = $1; return true },
        "clean-slate": .flag { $0.cleanSlate = true },
        "region": .value { $0.region = $1; return true },
        "silent": .flag { $0.silent = true },
        "log-level": .value { $0.logLevel = $1; return true },
        "fsync": .flag { $0.fsync = true },
        "management": .flag { $0.management = true },
        "shutdown-grace-period": .value { options, text in Int(text).map { options.shutdownGracePeriod = $0 } != nil },
        "auth": .flag { $0.auth = true },
        "access-key": .value { $0.accessKey = $1; return true },
        "secret-key": .value { $0.secretKey = $1; return true },
        "tls-cert": .value { $0.tlsCert = $1; return true },
        "tls-key": .value { $0.tlsKey = $1; return true },
        "tls-self-signed": .flag { $0.tlsSelfSigned = true },
        "drives": .value { $0.drives = $1; return true },
        "erasure": .value { $0.erasure = $1; return true },
    ]

    /// Parses `[serve] --name value | --name=value | --flag ...`, or returns `nil` for anything
    /// else (help, other subcommands, unknown or repeated options, values that look like
    /// options or do not parse), so that ArgumentParser answers it with its own messages.
    init?(fastParsing arguments: [String]) {
        var remaining = arguments[...]
        if remaining.first == "serve" { remaining = remaining.dropFirst() }
        var seen = Set<String>()
        while let token = remaining.popFirst() {
            guard token.hasPrefix("--"), token.count > 2 else { return nil }
            let body = token.dropFirst(2)
            let name: String
            var inlineValue: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                inlineValue = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
            }
            guard let option = Self.fastOptions[name], seen.insert(name).inserted else { return nil }
            switch option {
            case .value(let set):
                guard let value = inlineValue ?? remaining.popFirst(), !value.isEmpty, !value.hasPrefix("-"),
                    set(&self, value) else { return nil }
            case .flag(let set):
                guard inlineValue == nil else { return nil }
                set(&self)
            }
        }
    }
}

extension ServeOptions {
    func run() async throws {
        if management {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .warning
                return handler
            }
            await ManagementSession(logger: Logger(label: "stowage")).run()
            return
        }
        let configuration: StowageConfiguration
        do {
            configuration = try resolvedConfiguration()
            try configuration.validate()
        } catch let error as ConfigurationError {
            standardError("stowage: \(error)\n")
            throw ExitCode(2)
        }

        // Signals are caught from here on, so a SIGTERM that arrives while starting, or right
        // after the ready line, still stops the server cleanly.
        let termination = TerminationSignal.shared
        let level = configuration.logLevel
        let json = configuration.logging.format == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "stowage")
        if let limit = OpenFileLimit.raiseToHardLimit() {
            logger.info("open files limit", metadata: ["soft": "\(limit.soft)", "hard": "\(limit.hard)", "was": "\(limit.previous)"])
        }

        // A node forming a cluster from seeds: its part first (the founder makes the CA; the
        // others wait for it and join). A signal meanwhile stops the wait and the process.
        do {
            let formation = Task { try await ClusterAdministration.formFromSeeds(configuration, logger: logger) }
            // Watches the count, not the stream: the server's own signal handling below reads
            // that, and a signal during formation must still reach it (as a stop) if it comes.
            let received = termination.received
            let watcher = Task {
                while !Task.isCancelled, received.value.load(ordering: .sequentiallyConsistent) == 0 {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                formation.cancel()
            }
            defer { watcher.cancel() }
            _ = try await formation.value
        } catch where termination.received.value.load(ordering: .sequentiallyConsistent) > 0 {
            // Stopped while forming (the cancellation may surface as the join's own error).
            return
        } catch let error as ConfigurationError {
            standardError("stowage: \(error)\n")
            throw ExitCode(2)
        } catch {
            standardError("stowage: cannot form the cluster from its seeds: \(error)\n")
            throw ExitCode(1)
        }

        let server: Stowage
        do {
            server = try Stowage(configuration, logger: logger)
        } catch let error as ConfigurationError {
            standardError("stowage: \(error)\n")
            throw ExitCode(2)
        } catch {
            standardError("stowage: cannot start: \(error)\n")
            throw ExitCode(1)
        }

        // Every long-running piece is a member of one ServiceGroup: the HTTP server, multipart
        // expiry (and, later, the cluster's services). Signals are ours, trapped before the
        // server starts (the group's own handlers would come too late for a signal right after
        // the ready line, and ignore a second one): the first starts the group's graceful
        // shutdown, which stops the members in reverse order; a second (the operator wants out
        // now) exits at once.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: server.serviceConfigurations, logger: logger))
        let signals = termination.signals
        Task.detached {
            var seen = 0
            for await number in signals {
                seen += 1
                if seen == 1 {
                    logger.info("stopping: finishing requests in progress (a second signal exits at once)", metadata: ["signal": "\(number)"])
                    await group.triggerGracefulShutdown()
                } else {
                    standardError("stowage: second signal (\(number)); exiting without waiting\n")
                    // _exit: no atexit handlers racing the still-running event loops and SQLite.
                    Glibc._exit(1)
                }
            }
        }
        let announcement = Task { () -> Bool in
            guard await server.waitUntilRunning() else { return false }
            if let fingerprint = server.tlsCertificateFingerprint, configuration.server.tls.selfSigned {
                standardError("stowage: self-signed TLS certificate for localhost, 127.0.0.1 and ::1; SHA-256 fingerprint \(fingerprint)\n")
            }
            standardOutput("Stowage listening on \(server.scheme)://\(configuration.server.address):\(server.port)\n")
            let storage = configuration.cluster.enabled
                ? ("drives", configuration.cluster.drives.paths.joined(separator: ","))
                : ("directory", configuration.storage.directory)
            logger.info("serving", metadata: [storage.0: "\(storage.1)", "port": "\(server.port)"])
            return true
        }
        do {
            try await group.run()
            announcement.cancel()
        } catch let error as ConfigurationError {
            standardError("stowage: \(error)\n")
            throw ExitCode(2)
        } catch {
            announcement.cancel()
            let started = await announcement.value
            standardError(started ? "stowage: \(error)\n" : "stowage: cannot start: \(error)\n")
            throw ExitCode(1)
        }
    }

    func resolvedConfiguration() throws -> StowageConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["STOWAGE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var configuration = try file.map { try StowageConfiguration.load(file: $0) } ?? StowageConfiguration()
        configuration = try configuration.applyingEnvironment(environment)
        for warning in StowageConfiguration.misspeltEnvironmentVariables(environment) { standardError("stowage: \(warning)\n") }
        if let port { configuration.server.port = port }
        if let address { configuration.server.address = address }
        if let directory { configuration.storage.directory = directory }
        if cleanSlate { configuration.storage.cleanSlate = true }
        if let region { configuration.server.region = region }
        if silent { configuration.server.silent = true }
        if let logLevel { configuration.logging.level = logLevel }
        if fsync { configuration.storage.fsync = true }
        if auth { configuration.auth.enabled = true }
        if let shutdownGracePeriod { configuration.server.shutdownGracePeriod = shutdownGracePeriod }
        if let tlsCert { configuration.server.tls.certificateFile = tlsCert }
        if let tlsKey { configuration.server.tls.privateKeyFile = tlsKey }
        if tlsSelfSigned { configuration.server.tls.selfSigned = true }
        if let drives {
            configuration.cluster.drives.paths = drives.split(separator: ",").map { String($0) }.filter { !$0.isEmpty }
            configuration.cluster.enabled = true
        }
        if let erasure {
            (configuration.cluster.erasure.dataShards, configuration.cluster.erasure.parityShards) =
                try StowageConfiguration.erasureCode(erasure, field: "--erasure")
        }
        try configuration.validateCluster()
        switch (accessKey, secretKey) {
        case (let key?, let secret?): configuration.auth.credentials = [.init(accessKeyId: key, secretAccessKey: secret)]
        case (nil, nil): break
        default: throw ConfigurationError(field: accessKey == nil ? "--access-key" : "--secret-key", reason: "must be given together with the other")
        }
        return configuration
    }
}
