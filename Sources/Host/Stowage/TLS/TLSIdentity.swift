import NIOCore
import NIOSSL
import StowageCore

/// What the S3 endpoint presents over HTTPS: swift-nio-ssl's server context and the SHA-256
/// fingerprint of the certificate, from `server.tls`'s PEM files or a self-signed certificate.
struct TLSIdentity: Sendable {
    let context: NIOSSLContext
    let fingerprint: String

    /// Loads `tls`; a file that cannot be used is a `ConfigurationError` naming its field.
    static func load(_ tls: StowageConfiguration.TLS) throws -> TLSIdentity {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        if tls.selfSigned {
            let made: SelfSignedCertificate
            do {
                made = try SelfSignedCertificate.make()
            } catch {
                throw ConfigurationError(field: "server.tls.selfSigned", reason: "\(error)")
            }
            chain = [try NIOSSLCertificate(bytes: made.certificatePEM, format: .pem)]
            key = try NIOSSLPrivateKey(bytes: made.privateKeyPEM, format: .pem)
        } else {
            guard let certificateFile = tls.certificateFile, let privateKeyFile = tls.privateKeyFile else {
                throw ConfigurationError(field: "server.tls", reason: "needs certificateFile and privateKeyFile, or selfSigned")
            }
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            } catch {
                throw ConfigurationError(field: "server.tls.certificateFile", reason: "cannot be read as a PEM certificate chain ('\(certificateFile)': \(error))")
            }
            guard !chain.isEmpty else {
                throw ConfigurationError(field: "server.tls.certificateFile", reason: "holds no certificate ('\(certificateFile)')")
            }
            do {
                key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
            } catch {
                throw ConfigurationError(field: "server.tls.privateKeyFile", reason: "cannot be read as a PEM private key ('\(privateKeyFile)': \(error))")
            }
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        // After our close_notify, how long a connection waits for the client's before the socket
        // closes anyway. NIOSSL's 5 s default held every stop for 5 s while a client (boto3's
        // pool, say) kept an idle connection it never answers on; our close_notify already
        // tells the client the response ended whole.
        configuration.shutdownTimeout = .milliseconds(500)
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigurationError(field: "server.tls.privateKeyFile", reason: "does not match the certificate (\(error))")
        }
        let der = try chain[0].toDERBytes()
        let fingerprint = SHA256.hash(der).map { Hex.encode([$0]).uppercased() }.joined(separator: ":")
        return TLSIdentity(context: context, fingerprint: fingerprint)
    }
}
