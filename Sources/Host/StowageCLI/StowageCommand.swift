import ArgumentParser
import Dispatch
import Logging
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
            Configuration comes from the JSON file given with --config (every field optional, \
            defaults as documented in the README); flags override the file. Once listening, one \
            line goes to standard output: 'Stowage listening on http://ADDRESS:PORT'. SIGINT or \
            SIGTERM stop the server.
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

    func run() async throws {
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
        let level = logLevel(configuration)
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

        let signal = await termination.wait()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        try await server.stop()
    }

    private func resolvedConfiguration() throws -> StowageConfiguration {
        var configuration = try config.map { try StowageConfiguration.load(file: $0) } ?? StowageConfiguration()
        if let port { configuration.server.port = port }
        if let address { configuration.server.address = address }
        if let directory { configuration.storage.directory = directory }
        if cleanSlate { configuration.storage.cleanSlate = true }
        if let region { configuration.server.region = region }
        if silent { configuration.server.silent = true }
        if let logLevel { configuration.logging.level = logLevel }
        if fsync { configuration.storage.fsync = true }
        return configuration
    }

    private func logLevel(_ configuration: StowageConfiguration) -> Logger.Level {
        if configuration.server.silent || !configuration.logging.enabled { return .error }
        switch configuration.logging.level {
        case "error": return .error
        case "warn": return .warning
        case "debug": return .debug
        case "trace": return .trace
        default: return .info
        }
    }
}

/// Catches SIGINT and SIGTERM from its creation on; `wait()` returns the first one.
final class TerminationSignal {
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        sources = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    func wait() async -> Int32 {
        var received: Int32 = SIGTERM
        for await number in stream {
            received = number
            break
        }
        sources.forEach { $0.cancel() }
        return received
    }
}

func standardOutput(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
}

func standardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
