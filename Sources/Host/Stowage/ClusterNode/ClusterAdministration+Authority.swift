import Foundation
import StowageCluster
public import StowageCore
import StowageQUIC

/// A copy of the cluster CA on another member, made only when the operator asks for it
/// (CLUSTER.md §9): then that member, too, issues join tokens and admits joiners (through the
/// map register, so two admitting nodes never give out one node index twice), and the
/// cluster can still grow when the node that formed it is gone for good.
///
/// ```swift
/// try ClusterAdministration.exportAuthority(founderConfiguration, to: "/secure/ca.json")
/// try ClusterAdministration.importAuthority(memberConfiguration, from: "/secure/ca.json")
/// ```
extension ClusterAdministration {
    struct AuthorityBundle: Codable {
        var clusterID: String
        var certificate: String
        var privateKey: String
    }

    /// Writes the CA's certificate and private key to `path` (mode 0600, refusing to overwrite
    /// a file): whoever reads it can admit nodes to the cluster.
    public static func exportAuthority(_ configuration: StowageConfiguration, to path: String) throws -> String {
        let state = NodeStateDirectory(configuration)
        guard state.holdsAuthority else { throw Refused(description: "\(state.path) holds no cluster CA to export") }
        let map = try state.readMap()
        let authority = try state.authority(clusterID: map.clusterID)
        let bundle = AuthorityBundle(clusterID: map.clusterID, certificate: authority.certificatePEM, privateKey: authority.privateKeyPEM)
        try writeNewPrivateFile(Array(try JSONEncoder().encode(bundle)), at: path)
        return "wrote the CA of cluster \(map.clusterID) (its private key) to \(path): import it on another member with `stowage cluster authority import`, then delete it"
    }

    /// Installs a CA that `exportAuthority` wrote on this member: only the CA this node's own
    /// certificate chains to, and only a key that is that certificate's. The node admits
    /// joiners once restarted.
    public static func importAuthority(_ configuration: StowageConfiguration, from path: String) throws -> String {
        let state = NodeStateDirectory(configuration)
        let credentials = try state.credentials()
        guard !state.holdsAuthority else { throw Refused(description: "\(state.path) holds the cluster CA already") }
        guard let data = FileManager.default.contents(atPath: path) else { throw Refused(description: "\(path) cannot be read") }
        let bundle: AuthorityBundle
        do {
            bundle = try JSONDecoder().decode(AuthorityBundle.self, from: data)
        } catch {
            throw Refused(description: "\(path) is not a CA that `stowage cluster authority export` wrote: \(error)")
        }
        let map = try state.readMap()
        guard !map.pools.isEmpty else {
            // Until then the founder's file is the map, and only the founder changes it.
            throw Refused(description: "the cluster's first pool has not formed yet: a copy of the CA is of use only after `stowage cluster expand`")
        }
        let authority = ClusterCertificateAuthority(clusterID: map.clusterID, certificatePEM: bundle.certificate, privateKeyPEM: bundle.privateKey)
        guard bundle.clusterID == map.clusterID,
              try ClusterCertificateAuthority.fingerprint(ofCertificatePEM: bundle.certificate) == (try credentials.caFingerprint())
        else {
            throw Refused(description: "\(path) holds the CA of cluster \(bundle.clusterID), not the one this node's certificate is signed by (cluster \(map.clusterID))")
        }
        guard try authority.keyMatchesCertificate() else {
            throw Refused(description: "the private key in \(path) is not the CA certificate's")
        }
        try state.locked { try state.writeAuthority(authority) }
        return "node \(credentials.nodeID) holds the CA of cluster \(map.clusterID): restart it, then `stowage cluster token` here issues tokens it admits"
    }

    /// Creates `path` (never an existing file, never through a symbolic link) mode 0600 and
    /// writes `bytes` durably: the CA key must not land in a file someone else prepared.
    static func writeNewPrivateFile(_ bytes: [UInt8], at path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "it exists already; choose a new file" : String(cString: strerror(errno))
            throw Refused(description: "\(path) cannot be created: \(reason)")
        }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Refused(description: "\(path) could not be written: \(String(cString: strerror(errno)))") }
            written += n
        }
        guard fsync(fd) == 0 else { throw Refused(description: "\(path) could not be synced: \(String(cString: strerror(errno)))") }
    }
}
