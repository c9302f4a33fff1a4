import ArgumentParser
import Foundation
import Stowage
import StowageCore

/// `stowage cluster ...`: forming and inspecting a multi-process cluster (README, "Cluster
/// mode"). Each subcommand reads the node's configuration the way `serve` does (`--config`,
/// then `STOWAGE_*` variables).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Form, grow and inspect a multi-process cluster.",
        subcommands: [ClusterInit.self, ClusterToken.self, ClusterJoin.self, ClusterExpand.self, ClusterAuthority.self, ClusterSecret.self, ClusterStatusCommand.self])
}

struct NodeConfigurationOption: ParsableArguments {
    @Option(name: .long, help: "The node's JSON configuration file (cluster.nodeId, quicPort, quicAddress, drives, stateDirectory).")
    var config: String?

    func resolve() throws -> StowageConfiguration {
        var options = ServeOptions()
        options.config = config
        return try options.resolvedConfiguration()
    }
}

/// Runs `body`, printing its result, or the error and exit 1.
private func report(_ body: () async throws -> String) async throws {
    do {
        standardOutput(try await body() + "\n")
    } catch {
        standardError("stowage: \(error)\n")
        throw ExitCode(1)
    }
}

struct ClusterInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Form a new cluster on this node: its CA (the key stays here), its certificate, a map with this node.")
    @OptionGroup var node: NodeConfigurationOption
    func run() async throws {
        try await report { try ClusterAdministration.initialize(try node.resolve()) }
    }
}

struct ClusterToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Print a one-time join token (on a node that holds the CA: the one that ran init, or one it was copied to).")
    @OptionGroup var node: NodeConfigurationOption
    @Option(name: .long, help: "Seconds the token stays valid.")
    var ttl = 3600
    func run() async throws {
        try await report { try ClusterAdministration.issueToken(try node.resolve(), ttlSeconds: ttl) }
    }
}

struct ClusterJoin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join", abstract: "Join a cluster with a token; the node becomes a spare until `cluster expand`.")
    @OptionGroup var node: NodeConfigurationOption
    @Argument(help: "The token `stowage cluster token` printed.")
    var token: String
    @Option(name: .long, help: "host:quicPort of the node that ran init (repeatable; default: cluster.seedNodes).")
    var seed: [String] = []
    func run() async throws {
        try await report {
            let configuration = try node.resolve()
            return try await ClusterAdministration.join(configuration, token: token, seeds: seed.isEmpty ? configuration.cluster.seedNodes : seed)
        }
    }
}

struct ClusterExpand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expand", abstract: "Form a pool from the spares; their nodes then open their drives. The first pool forms on the node that ran init, later ones through any serving member.")
    @OptionGroup var node: NodeConfigurationOption
    func run() async throws {
        try await report { try await ClusterAdministration.expand(try node.resolve()) }
    }
}

struct ClusterSecret: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Print a new cluster.formationSecret: give every node listed in cluster.seedNodes the same one, and they form the cluster on their first start.")
    func run() async throws {
        standardOutput(ClusterAdministration.newFormationSecret() + "\n")
    }
}

struct ClusterStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a node's view of the cluster: members, liveness, drives, erasure sets.")
    @Option(name: .long, help: "The node's S3 endpoint, e.g. http://127.0.0.1:3000.")
    var endpoint: String
    @Option(name: .long, help: "Authorization header value, if the server's metrics need one (Bearer <token>).")
    var authorization: String?
    @Flag(name: .long, help: "Print the JSON the node answers instead of tables.")
    var json = false
    @Option(name: .long, help: "For an https:// endpoint: trust this PEM certificate (the server's own, or its CA) instead of the system's roots.")
    var caCertificate: String?
    @Flag(name: .long, help: "For an https:// endpoint: do not verify the server's certificate.")
    var insecure = false
    func run() async throws {
        try await report {
            let trust: HTTPSStatusClient.Trust = insecure ? .none : caCertificate.map { .certificateFile($0) } ?? .system
            let body = try await ClusterStatusClient.fetch(endpoint: endpoint, authorization: authorization, trust: trust)
            guard !json else { return String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            return try ClusterStatusTable.render(try JSONDecoder().decode(ClusterStatus.self, from: body))
        }
    }
}

struct ClusterAuthority: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority",
        abstract: "Copy the cluster CA to another member, so that it too admits joiners (the CA key leaves its node only this way).",
        subcommands: [ClusterAuthorityExport.self, ClusterAuthorityImport.self])
}

struct ClusterAuthorityExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write the CA's certificate and private key to a new file (mode 0600).")
    @OptionGroup var node: NodeConfigurationOption
    @Option(name: .long, help: "The file to write; it must not exist.")
    var out: String
    func run() async throws {
        try await report { try ClusterAdministration.exportAuthority(try node.resolve(), to: out) }
    }
}

struct ClusterAuthorityImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Install a CA that `authority export` wrote on this member; restart the node to admit joiners.")
    @OptionGroup var node: NodeConfigurationOption
    @Argument(help: "The file `stowage cluster authority export` wrote.")
    var file: String
    func run() async throws {
        try await report { try ClusterAdministration.importAuthority(try node.resolve(), from: file) }
    }
}
