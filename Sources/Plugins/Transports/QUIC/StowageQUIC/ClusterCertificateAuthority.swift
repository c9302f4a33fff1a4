internal import CGnuTLS
internal import CNgtcp2
import Foundation

/// The cluster's certificate authority (CLUSTER.md §8): made once, when the cluster forms, on
/// the node that forms it. It signs one certificate per node; nodes trust only certificates it
/// signed, so a process without one can neither connect to a node nor accept a connection
/// from one. Its private key stays with the node that made it.
///
/// ```swift
/// let ca = try ClusterCertificateAuthority.generate(clusterID: "c-7f3a")
/// let node = try ca.issue(nodeID: "node-2")
/// try node.write(to: URL(filePath: "/var/lib/stowage/tls"))   // files 0600
/// ```
public struct ClusterCertificateAuthority: Sendable {
    public let clusterID: String
    public let certificatePEM: String
    public let privateKeyPEM: String

    public init(clusterID: String, certificatePEM: String, privateKeyPEM: String) {
        self.clusterID = clusterID
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// A new CA: a P-256 key and a self-signed certificate for `clusterID`.
    public static func generate(clusterID: String, validFor years: Int = 20) throws -> ClusterCertificateAuthority {
        let key = try X509PrivateKey.generate()
        let crt = try X509Certificate.empty()
        try CertificateFields(
            commonName: "Stowage cluster CA \(clusterID)", organization: clusterID, years: years, authority: true, dnsName: nil
        ).apply(to: crt, key: key)
        let id = try crt.keyID()
        try GnuTLSError.check(gnutls_x509_crt_set_subject_key_id(crt.handle, id, id.count), "gnutls_x509_crt_set_subject_key_id")
        try GnuTLSError.check(gnutls_x509_crt_sign2(crt.handle, crt.handle, key.handle, GNUTLS_DIG_SHA256, 0), "gnutls_x509_crt_sign2")
        return ClusterCertificateAuthority(clusterID: clusterID, certificatePEM: try crt.exportPEM(), privateKeyPEM: try key.exportPEM())
    }

    /// SHA-256 of the CA certificate, hex: what a join token pins.
    public func fingerprint() throws -> String { try Self.fingerprint(ofCertificatePEM: certificatePEM) }

    /// Whether the private key is the certificate's (a CA copied from another node).
    public func keyMatchesCertificate() throws -> Bool {
        try X509PrivateKey.importPEM(privateKeyPEM).keyID() == X509Certificate.importPEM(certificatePEM).keyID()
    }

    /// The hex SHA-256 of a PEM certificate's DER form (what join tokens pin).
    public static func fingerprint(ofCertificatePEM pem: String) throws -> String { try X509Certificate.importPEM(pem).fingerprint() }

    /// A certificate for `nodeID`, good for both ends of a connection (a node dials and is
    /// dialled). `nodeID` is its subject's common name and its DNS name: a dialling node checks
    /// that the node it reached is the one it meant.
    public func issue(nodeID: String, validFor years: Int = 10) throws -> NodeCredentials {
        guard NodeCredentials.isValidNodeID(nodeID) else { throw InvalidNodeID(nodeID: nodeID) }
        let caKey = try X509PrivateKey.importPEM(privateKeyPEM)
        let caCrt = try X509Certificate.importPEM(certificatePEM)
        let key = try X509PrivateKey.generate()
        let crt = try X509Certificate.empty()
        try CertificateFields(commonName: nodeID, organization: clusterID, years: years, authority: false, dnsName: nodeID)
            .apply(to: crt, key: key)
        let id = try crt.keyID()
        try GnuTLSError.check(gnutls_x509_crt_set_subject_key_id(crt.handle, id, id.count), "gnutls_x509_crt_set_subject_key_id")
        let authority = try caCrt.keyID()
        try GnuTLSError.check(gnutls_x509_crt_set_authority_key_id(crt.handle, authority, authority.count), "gnutls_x509_crt_set_authority_key_id")
        try GnuTLSError.check(gnutls_x509_crt_sign2(crt.handle, caCrt.handle, caKey.handle, GNUTLS_DIG_SHA256, 0), "gnutls_x509_crt_sign2")
        return NodeCredentials(
            nodeID: nodeID, certificatePEM: try crt.exportPEM(), privateKeyPEM: try key.exportPEM(), caCertificatePEM: certificatePEM)
    }

    public struct InvalidNodeID: Error, CustomStringConvertible {
        public let nodeID: String
        public var description: String { "'\(nodeID)' is not a node ID: 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'" }
    }
}

/// What a certificate says, set on a fresh certificate with its key.
private struct CertificateFields {
    let commonName: String
    let organization: String
    let years: Int
    let authority: Bool
    let dnsName: String?

    func apply(to crt: X509Certificate, key: X509PrivateKey) throws {
        let handle = crt.handle
        try GnuTLSError.check(gnutls_x509_crt_set_version(handle, 3), "gnutls_x509_crt_set_version")
        var serial = [UInt8](repeating: 0, count: 16)
        try GnuTLSError.check(gnutls_rnd(GNUTLS_RND_NONCE, &serial, serial.count), "gnutls_rnd")
        serial[0] &= 0x7f  // a positive serial
        try GnuTLSError.check(gnutls_x509_crt_set_serial(handle, serial, serial.count), "gnutls_x509_crt_set_serial")
        let now = time(nil)
        // An hour back: a peer whose clock is a little behind still accepts it.
        try GnuTLSError.check(gnutls_x509_crt_set_activation_time(handle, now - 3600), "gnutls_x509_crt_set_activation_time")
        try GnuTLSError.check(
            gnutls_x509_crt_set_expiration_time(handle, now + time_t(years) * 365 * 86_400), "gnutls_x509_crt_set_expiration_time")
        try GnuTLSError.check(
            gnutls_x509_crt_set_dn_by_oid(handle, GNUTLS_OID_X520_COMMON_NAME, 0, commonName, UInt32(commonName.utf8.count)),
            "gnutls_x509_crt_set_dn_by_oid(CN)")
        try GnuTLSError.check(
            gnutls_x509_crt_set_dn_by_oid(handle, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, organization, UInt32(organization.utf8.count)),
            "gnutls_x509_crt_set_dn_by_oid(O)")
        try GnuTLSError.check(gnutls_x509_crt_set_key(handle, key.handle), "gnutls_x509_crt_set_key")
        try GnuTLSError.check(gnutls_x509_crt_set_basic_constraints(handle, authority ? 1 : 0, authority ? 0 : -1), "gnutls_x509_crt_set_basic_constraints")
        let usage = authority
            ? UInt32(GNUTLS_KEY_KEY_CERT_SIGN) | UInt32(GNUTLS_KEY_CRL_SIGN)
            : UInt32(GNUTLS_KEY_DIGITAL_SIGNATURE)
        try GnuTLSError.check(gnutls_x509_crt_set_key_usage(handle, usage), "gnutls_x509_crt_set_key_usage")
        if let dnsName {
            try GnuTLSError.check(
                gnutls_x509_crt_set_subject_alt_name(handle, GNUTLS_SAN_DNSNAME, dnsName, UInt32(dnsName.utf8.count), UInt32(GNUTLS_FSAN_SET)),
                "gnutls_x509_crt_set_subject_alt_name")
            for purpose in [GNUTLS_KP_TLS_WWW_SERVER, GNUTLS_KP_TLS_WWW_CLIENT] {
                try GnuTLSError.check(gnutls_x509_crt_set_key_purpose_oid(handle, purpose, 0), "gnutls_x509_crt_set_key_purpose_oid")
            }
        }
    }
}
