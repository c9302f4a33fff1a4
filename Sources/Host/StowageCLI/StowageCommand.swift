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
    /// `stowage [serve] --option value ...`, the way every script and test starts the server,
    /// skips ArgumentParser: its reflection and completion-script checks cost about 2 ms of a
    /// start-up budgeted at 10. Anything else (help, other subcommands, anything the fast path
    /// does not recognise, malformed values) goes to ArgumentParser, which owns errors and help.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first != "version" { Stowage.prepare() }
        guard let options = ServeOptions(fastParsing: arguments) else {
            await main(nil)
            return
        }
        do {
            try await options.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "stowage",
        abstract: "An S3-compatible object storage server.",
        subcommands: [Serve.self, ClusterCommand.self, Bench.self, Version.self],
        defaultSubcommand: Serve.self
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    static let version = "0.1.0"

    func run() {
        standardOutput("stowage \(Self.version)\n")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the S3 server.",
        discussion: """
            Configuration comes from three layers, each overriding the one before: the JSON file \
            given with --config (every field optional, defaults as documented in the README), \
            environment variables, then flags. Once listening, one line goes to standard output: \
            'Stowage listening on http://ADDRESS:PORT' (https with TLS). SIGINT or SIGTERM stop the server.

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

    @Option(name: .long, help: "Serve HTTPS with this PEM certificate chain (with --tls-key).")
    var tlsCert: String?

    @Option(name: .long, help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    @Flag(name: .long, help: "Serve HTTPS with a throwaway self-signed certificate; its fingerprint goes to standard error.")
    var tlsSelfSigned = false

    @Option(name: .long, help: "Store erasure-coded over these drive directories (comma-separated; the cluster backend).")
    var drives: String?

    @Option(name: .long, help: "Erasure code as K+M data+parity shards, with --drives. (default: 4+2)")
    var erasure: String?

    /// The parsed options as a plain value (shared with the fast path).
    var options: ServeOptions {
        ServeOptions(
            config: config, port: port, address: address, directory: directory, cleanSlate: cleanSlate,
            region: region, silent: silent, logLevel: logLevel, fsync: fsync, management: management,
            shutdownGracePeriod: shutdownGracePeriod, auth: auth, accessKey: accessKey, secretKey: secretKey,
            tlsCert: tlsCert, tlsKey: tlsKey, tlsSelfSigned: tlsSelfSigned, drives: drives, erasure: erasure
        )
    }

    func run() async throws {
        try await options.run()
    }
}

/// Catches SIGINT and SIGTERM from its creation on; `wait()` returns the first one.
///
/// A real handler, not `SIG_IGN` plus a dispatch signal source: on Linux the source reads a
/// signalfd, which sees a signal only while every thread blocks it, and threads that exist
/// before (Swift's cooperative pool, OpenSSL's warm-up) do not. A SIGTERM the kernel handed
/// to one of them was ignored outright: a server that printed its ready line then now and
/// again slept through its stop signal (seen in CI twice). The handler only writes the
/// signal's number to a pipe (async-signal-safe); a thread of its own reads the pipe.
final class TerminationSignal: Sendable {
    /// Every SIGINT and SIGTERM from now on, in order.
    let signals: AsyncStream<Int32>
    /// How many have come so far: for code that must stop on one without taking it from
    /// ``signals`` (which has one reader).
    let received: SignalCount

    final class SignalCount: Sendable {
        let value = Atomic<Int>(0)
    }

    /// One per process: the handler and its pipe are the process's, and a second reader of
    /// the pipe would take signals from the first.
    static let shared = TerminationSignal()

    private init() {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.signals = stream
        let received = SignalCount()
        self.received = received
        let readEnd = SignalPipe.install([SIGINT, SIGTERM])
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                guard n == 1 else { return }
                received.value.add(1, ordering: .sequentiallyConsistent)
                continuation.yield(Int32(byte))
            }
        }
    }

    /// The next signal.
    func wait() async -> Int32 {
        for await number in signals { return number }
        return SIGTERM
    }
}

/// The self-pipe behind ``TerminationSignal``: installed once per process.
private enum SignalPipe {
    /// The write end, read by the handler (set once, before the handler is installed).
    nonisolated(unsafe) static var writeEnd: Int32 = -1
    nonisolated(unsafe) static var readEnd: Int32 = -1

    /// Installs the handler for `numbers` (once; later calls reuse it) and returns the pipe's
    /// read end.
    static func install(_ numbers: [Int32]) -> Int32 {
        if readEnd >= 0 { return readEnd }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        readEnd = fds[0]
        writeEnd = fds[1]
        for number in numbers {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                // Async-signal-safe: one write; errno is put back for the interrupted code.
                let saved = errno
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(SignalPipe.writeEnd, &byte, 1)
                errno = saved
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
        return readEnd
    }
}

func standardOutput(_ text: String) {
    StandardStreams.write(text, to: .output)
}

func standardError(_ text: String) {
    StandardStreams.write(text, to: .error)
}
