import ArgumentParser
import Foundation
import Dispatch
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

@main
struct StowageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stowage",
        abstract: "An S3-compatible object storage server.",
        subcommands: [Serve.self, Bench.self, Version.self],
        defaultSubcommand: Serve.self
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    static let version = "0.1.0"

    func run() {
        standardOutput("stowage \(Self.version)\n")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the S3 server.",
        discussion: """
            Configuration comes from three layers, each overriding the one before: the JSON file \
            given with --config (every field optional, defaults as documented in the README), \
            environment variables, then flags. Once listening, one line goes to standard output: \
            'Stowage listening on http://ADDRESS:PORT'. SIGINT or SIGTERM stop the server.

            Environment variables:
            \(StowageConfiguration.environmentVariables.map { "  \($0.name)\(String(repeating: " ", count: max(1, 32 - $0.name.count)))\($0.field)" }.joined(separator: "\n"))
            """
    )

    @Option(name: .long, help: "A JSON configuration file.")
    var config: String?

    @Option(name: .long, help: "Port to listen on; 0 picks a free port. (default: 3000)")
    var port: Int?

    @Option(name: .long, help: "Address to bind. (default: 0.0.0.0)")
    var address: String?

    @Option(name: .long, help: "Storage directory. (default: .nogit/bucketsDir)")
    var directory: String?

    @Flag(name: .long, help: "Wipe the storage directory on start.")
    var cleanSlate = false

    @Option(name: .long, help: "Region the server answers for. (default: us-east-1)")
    var region: String?

    @Flag(name: .long, help: "Log nothing but errors.")
    var silent = false

    @Option(name: .long, help: "Log level: error, warn, info, debug, trace. (default: info)")
    var logLevel: String?

    @Flag(name: .long, help: "fsync objects and the index on every write (survives power loss).")
    var fsync = false

    @Flag(name: .long, help: "Be driven over newline-delimited JSON on stdin/stdout (start, stop, createBucket, clusterStatus) instead of starting at once.")
    var management = false

    @Option(name: .long, help: "Milliseconds that stopping waits for requests in progress. (default: 10000)")
    var shutdownGracePeriod: Int?

    @Flag(name: .long, help: "Verify SigV4 signatures and authorize every request (auth.enabled).")
    var auth = false

    @Option(name: .long, help: "Access key of the single credential (with --secret-key). (default: STORAGE)")
    var accessKey: String?

    @Option(name: .long, help: "Secret key of the single credential (with --access-key). (default: STORAGE)")
    var secretKey: String?

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
        let termination = TerminationSignal()
        let level = configuration.logLevel
        let json = configuration.logging.format == "json"
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "stowage")

        let server: Stowage
        do {
            server = try await Stowage.createAndStart(configuration, logger: logger)
        } catch let error as ConfigurationError {
            standardError("stowage: \(error)\n")
            throw ExitCode(2)
        } catch {
            standardError("stowage: cannot start: \(error)\n")
            throw ExitCode(1)
        }
        standardOutput("Stowage listening on http://\(configuration.server.address):\(server.port)\n")
        logger.info("serving", metadata: ["directory": "\(configuration.storage.directory)", "port": "\(server.port)"])

        // The server runs as a swift-service-lifecycle service in one ServiceGroup. Signals are
        // ours, trapped since the process began (the group's own handlers would come too late
        // for a signal right after the ready line, and ignore a second one): the first starts the
        // group's graceful shutdown, a second (the operator wants out now) exits at once.
        let group = ServiceGroup(services: [server], logger: logger)
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
        try await group.run()
    }

    private func resolvedConfiguration() throws -> StowageConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["STOWAGE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var configuration = try file.map { try StowageConfiguration.load(file: $0) } ?? StowageConfiguration()
        configuration = try configuration.applyingEnvironment(environment)
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
        switch (accessKey, secretKey) {
        case (let key?, let secret?): configuration.auth.credentials = [.init(accessKeyId: key, secretAccessKey: secret)]
        case (nil, nil): break
        default: throw ConfigurationError(field: accessKey == nil ? "--access-key" : "--secret-key", reason: "must be given together with the other")
        }
        return configuration
    }

}

/// Catches SIGINT and SIGTERM from its creation on; `wait()` returns the first one.
final class TerminationSignal {
    /// Every SIGINT and SIGTERM from now on, in order.
    let signals: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.signals = stream
        sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// The next signal.
    func wait() async -> Int32 {
        for await number in signals { return number }
        return SIGTERM
    }
}

func standardOutput(_ text: String) {
    StandardStreams.write(text, to: .output)
}

func standardError(_ text: String) {
    StandardStreams.write(text, to: .error)
}
