public import Foundation

/// One node's TLS identity in the cluster: its certificate and key, and the cluster CA's
/// certificate it trusts. Kept in a directory of the node's own, every file mode 0600.
///
/// ```swift
/// let credentials = try NodeCredentials.read(from: URL(filePath: "/var/lib/stowage/tls"))
/// let transport = try QUICTransport(credentials: credentials, ...)
/// ```
public struct NodeCredentials: Sendable, Equatable {
    public let nodeID: String
    public let certificatePEM: String
    public let privateKeyPEM: String
    public let caCertificatePEM: String

    public init(nodeID: String, certificatePEM: String, privateKeyPEM: String, caCertificatePEM: String) {
        self.nodeID = nodeID
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.caCertificatePEM = caCertificatePEM
    }

    static let files = (certificate: "node.crt", key: "node.key", ca: "ca.crt")

    /// Writes the three files (mode 0600, the directory 0700), each whole or not at all.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, text) in [(Self.files.certificate, certificatePEM), (Self.files.key, privateKeyPEM), (Self.files.ca, caCertificatePEM)] {
            try PrivateFile.write(text, to: directory.appending(path: name))
        }
    }

    /// Reads what ``write(to:)`` wrote; the node ID comes from the certificate.
    public static func read(from directory: URL) throws -> NodeCredentials {
        let certificate = try String(contentsOf: directory.appending(path: files.certificate), encoding: .utf8)
        let key = try String(contentsOf: directory.appending(path: files.key), encoding: .utf8)
        let ca = try String(contentsOf: directory.appending(path: files.ca), encoding: .utf8)
        let nodeID = try X509Certificate.importPEM(certificate).commonName()
        return NodeCredentials(nodeID: nodeID, certificatePEM: certificate, privateKeyPEM: key, caCertificatePEM: ca)
    }

    /// SHA-256 of the trusted CA certificate, hex.
    public func caFingerprint() throws -> String { try X509Certificate.importPEM(caCertificatePEM).fingerprint() }

    /// Node IDs are DNS labels: they are the certificates' DNS names.
    public static func isValidNodeID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
    }
}

/// A file only its owner reads: written to a temporary name with mode 0600 from the start,
/// synced, then renamed into place (never a moment world-readable, never half written).
///
/// ```swift
/// try PrivateFile.write(caKeyPEM, to: URL(filePath: "/var/lib/stowage/cluster/ca/ca.key"))
/// ```
public enum PrivateFile {
    public static func write(_ text: String, to url: URL) throws {
        let temporary = url.path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary]) }
        var failed = false
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { failed = true; return }
                offset += written
            }
        }
        if fsync(fd) != 0 { failed = true }
        close(fd)
        guard !failed, rename(temporary, url.path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        // The rename itself survives a power loss only once the directory is synced.
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }
}
