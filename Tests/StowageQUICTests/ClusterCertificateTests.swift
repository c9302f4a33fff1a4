import Foundation
import StowageQUIC
import Testing

@Suite struct ClusterCertificateTests {
    @Test func aCAIssuesNodeCertificatesThatNameTheNode() throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-test")
        #expect(ca.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(ca.privateKeyPEM.contains("PRIVATE KEY"))
        let fingerprint = try ca.fingerprint()
        #expect(fingerprint.count == 64)
        #expect(try ca.fingerprint() == fingerprint)

        let node = try ca.issue(nodeID: "node-1")
        #expect(node.nodeID == "node-1")
        #expect(node.caCertificatePEM == ca.certificatePEM)
        #expect(try node.caFingerprint() == fingerprint)
        #expect(node.certificatePEM != ca.certificatePEM)
        // Another CA is another cluster.
        #expect(try ClusterCertificateAuthority.generate(clusterID: "c-test").fingerprint() != fingerprint)
    }

    @Test(arguments: ["", "-a", "a-", "Node", "a_b", String(repeating: "a", count: 64), "nöde"])
    func nodeIDsAreDNSLabels(_ id: String) throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c")
        #expect(throws: ClusterCertificateAuthority.InvalidNodeID.self) { try ca.issue(nodeID: id) }
    }

    @Test func credentialsGoToDiskOwnerOnly() throws {
        let ca = try ClusterCertificateAuthority.generate(clusterID: "c-disk")
        let node = try ca.issue(nodeID: "n2")
        let directory = FileManager.default.temporaryDirectory.appending(path: "stowage-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try node.write(to: directory)
        for name in ["node.crt", "node.key", "ca.crt"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.appending(path: name).path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(name)")
        }
        let directoryMode = try FileManager.default.attributesOfItem(atPath: directory.path)[.posixPermissions] as? NSNumber
        #expect(directoryMode?.intValue == 0o700)
        #expect(try NodeCredentials.read(from: directory) == node)
    }
}

