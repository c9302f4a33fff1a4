import Foundation
import StowageCluster
import StowageCore
import StowageQUIC

/// A node's cluster identity on disk (``StowageConfiguration/Cluster/stateDirectory``):
/// `tls/` (its certificate and key, the CA certificate), `map.json` (the newest cluster map it
/// has), and on the node that formed the cluster `ca/` (the CA's certificate and key) and
/// `tokens.json` (hashes of the join tokens not yet used). Every file is 0600, the directories
/// 0700; changes to the map and the tokens happen under an exclusive lock, so the running node
/// and a `stowage cluster` command on the same host never lose each other's change.
struct NodeStateDirectory: Sendable {
    let path: String

    init(_ configuration: StowageConfiguration) { path = configuration.clusterStateDirectory }
    init(path: String) { self.path = path }

    var url: URL { URL(filePath: path) }
    var tlsDirectory: URL { url.appending(path: "tls") }
    var authorityDirectory: URL { url.appending(path: "ca") }
    var mapFile: URL { url.appending(path: "map.json") }
    var tokensFile: URL { url.appending(path: "tokens.json") }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// Whether this node belongs to a cluster (it ran `stowage cluster init` or `join`).
    var isMember: Bool { FileManager.default.fileExists(atPath: tlsDirectory.appending(path: "node.crt").path) }

    /// Whether this node holds the cluster CA (it formed the cluster): it admits joiners.
    var holdsAuthority: Bool { FileManager.default.fileExists(atPath: authorityDirectory.appending(path: "ca.key").path) }

    func credentials() throws -> NodeCredentials {
        guard isMember else {
            throw Missing(description: "\(path) holds no cluster identity: run `stowage cluster init` on the first node, `stowage cluster join <token>` on the others")
        }
        return try NodeCredentials.read(from: tlsDirectory)
    }

    func authority(clusterID: String) throws -> ClusterCertificateAuthority {
        let certificate = try String(contentsOf: authorityDirectory.appending(path: "ca.crt"), encoding: .utf8)
        let key = try String(contentsOf: authorityDirectory.appending(path: "ca.key"), encoding: .utf8)
        return ClusterCertificateAuthority(clusterID: clusterID, certificatePEM: certificate, privateKeyPEM: key)
    }

    func writeAuthority(_ authority: ClusterCertificateAuthority) throws {
        try makeDirectory(authorityDirectory)
        try PrivateFile.write(authority.certificatePEM, to: authorityDirectory.appending(path: "ca.crt"))
        try PrivateFile.write(authority.privateKeyPEM, to: authorityDirectory.appending(path: "ca.key"))
    }

    func readMap() throws -> ClusterMap {
        guard let data = FileManager.default.contents(atPath: mapFile.path) else {
            throw Missing(description: "\(mapFile.path) is missing: this node has no cluster map")
        }
        return try JSONDecoder().decode(ClusterMap.self, from: data)
    }

    func writeMap(_ map: ClusterMap) throws {
        try makeDirectory(url)
        try PrivateFile.write(try Self.json(map), to: mapFile)
    }

    /// A token the cluster issued, and once used, the node it admitted (a joiner whose
    /// answer was lost asks again with the same token and gets the same membership).
    struct StoredToken: Codable, Sendable, Equatable {
        var issued: JoinToken.Issued
        var admitted: ClusterMap.Member?
    }

    func readTokens() throws -> [StoredToken] {
        guard let data = FileManager.default.contents(atPath: tokensFile.path) else { return [] }
        return try JSONDecoder().decode([StoredToken].self, from: data)
    }

    func writeTokens(_ tokens: [StoredToken]) throws {
        try PrivateFile.write(try Self.json(tokens), to: tokensFile)
    }

    /// Whether a token that has not expired exists (used or not: a joiner whose answer was
    /// lost asks again): only then does the node admit clients without a certificate at all.
    func hasUnexpiredToken(nowMs: UInt64) -> Bool {
        ((try? readTokens()) ?? []).contains { $0.issued.expiresMs > nowMs }
    }

    var formedMarker: URL { url.appending(path: "drives-formed") }

    /// Whether this node already formed its drives for the pool `deploymentID`.
    func formedDrives(deploymentID: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: formedMarker.path) else { return false }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == deploymentID
    }

    func recordFormedDrives(deploymentID: String) throws {
        try PrivateFile.write(deploymentID + "\n", to: formedMarker)
    }

    /// Runs `body` holding the directory's exclusive lock (`flock` on `.lock`).
    func locked<T>(_ body: () throws -> T) throws -> T {
        try makeDirectory(url)
        let fd = open(url.appending(path: ".lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Missing(description: "cannot open the lock file in \(path): errno \(errno)") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Missing(description: "cannot lock \(path): errno \(errno)") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    func makeDirectory(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
