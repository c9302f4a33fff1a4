internal import CGnuTLS
// GnuTLS's types come through ngtcp2's crypto helper header too; Swift sees them there.
internal import CNgtcp2
import Foundation

/// A GnuTLS failure: the call that failed and GnuTLS's own words for it.
public struct GnuTLSError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: gnutls_strerror(code))) (\(code))" }

    /// Throws unless `code` is success (GnuTLS answers 0 or a positive count).
    static func check(_ code: Int32, _ call: String) throws {
        if code < 0 { throw GnuTLSError(call: call, code: code) }
    }
}

/// Copies a datum GnuTLS allocated, then frees it.
func takeDatum(_ datum: inout gnutls_datum_t) -> [UInt8] {
    // gnutls_free is free(): GnuTLS allocates with malloc unless an application replaces its
    // allocator, which nothing here does (and the global is not concurrency-safe to read).
    defer { free(datum.data) }
    guard let data = datum.data else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: Int(datum.size)))
}

/// Runs `body` with a datum that points at `bytes` (GnuTLS only reads it).
func withDatum<T>(_ bytes: [UInt8], _ body: (inout gnutls_datum_t) throws -> T) rethrows -> T {
    var copy = bytes
    return try copy.withUnsafeMutableBufferPointer { buffer in
        var datum = gnutls_datum_t(data: buffer.baseAddress, size: UInt32(buffer.count))
        return try body(&datum)
    }
}

/// An ECDSA private key, owned (freed on deinit). Used within one call, never shared.
final class X509PrivateKey {
    let handle: gnutls_x509_privkey_t

    private init(handle: gnutls_x509_privkey_t) { self.handle = handle }

    deinit { gnutls_x509_privkey_deinit(handle) }

    private static func empty() throws -> X509PrivateKey {
        var key: gnutls_x509_privkey_t?
        try GnuTLSError.check(gnutls_x509_privkey_init(&key), "gnutls_x509_privkey_init")
        return X509PrivateKey(handle: key!)
    }

    /// A fresh P-256 key.
    static func generate() throws -> X509PrivateKey {
        let key = try empty()
        let bits = (UInt32(1) << 31) | UInt32(GNUTLS_ECC_CURVE_SECP256R1.rawValue)
        try GnuTLSError.check(gnutls_x509_privkey_generate(key.handle, GNUTLS_PK_ECDSA, bits, 0), "gnutls_x509_privkey_generate")
        return key
    }

    static func importPEM(_ pem: String) throws -> X509PrivateKey {
        let key = try empty()
        try withDatum(Array(pem.utf8)) { datum in
            try GnuTLSError.check(gnutls_x509_privkey_import(key.handle, &datum, GNUTLS_X509_FMT_PEM), "gnutls_x509_privkey_import")
        }
        return key
    }

    func exportPEM() throws -> String {
        var datum = gnutls_datum_t()
        try GnuTLSError.check(gnutls_x509_privkey_export2(handle, GNUTLS_X509_FMT_PEM, &datum), "gnutls_x509_privkey_export2")
        return String(decoding: takeDatum(&datum), as: UTF8.self)
    }

    /// The key identifier of its public half, as ``X509Certificate/keyID()`` computes it for
    /// a certificate: equal only for a certificate of this key.
    func keyID() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var size = buffer.count
        try GnuTLSError.check(gnutls_x509_privkey_get_key_id(handle, 0, &buffer, &size), "gnutls_x509_privkey_get_key_id")
        return Array(buffer.prefix(size))
    }
}

/// An X.509 certificate, owned (freed on deinit). Used within one call, never shared.
final class X509Certificate {
    let handle: gnutls_x509_crt_t

    private init(handle: gnutls_x509_crt_t) { self.handle = handle }

    deinit { gnutls_x509_crt_deinit(handle) }

    static func empty() throws -> X509Certificate {
        var crt: gnutls_x509_crt_t?
        try GnuTLSError.check(gnutls_x509_crt_init(&crt), "gnutls_x509_crt_init")
        return X509Certificate(handle: crt!)
    }

    static func importPEM(_ pem: String) throws -> X509Certificate {
        let crt = try empty()
        try withDatum(Array(pem.utf8)) { datum in
            try GnuTLSError.check(gnutls_x509_crt_import(crt.handle, &datum, GNUTLS_X509_FMT_PEM), "gnutls_x509_crt_import")
        }
        return crt
    }

    func exportPEM() throws -> String {
        var datum = gnutls_datum_t()
        try GnuTLSError.check(gnutls_x509_crt_export2(handle, GNUTLS_X509_FMT_PEM, &datum), "gnutls_x509_crt_export2")
        return String(decoding: takeDatum(&datum), as: UTF8.self)
    }

    /// SHA-256 of the DER encoding, lowercase hex: what a join token pins.
    func fingerprint() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        var size = buffer.count
        try GnuTLSError.check(gnutls_x509_crt_get_fingerprint(handle, GNUTLS_DIG_SHA256, &buffer, &size), "gnutls_x509_crt_get_fingerprint")
        return buffer.prefix(size).map { String(format: "%02x", $0) }.joined()
    }

    /// The subject's common name.
    func commonName() throws -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        try GnuTLSError.check(
            gnutls_x509_crt_get_dn_by_oid(handle, GNUTLS_OID_X520_COMMON_NAME, 0, 0, &buffer, &size), "gnutls_x509_crt_get_dn_by_oid")
        return String(decoding: buffer.prefix(size).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first DNS subject alternative name.
    func dnsName() throws -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        let kind = gnutls_x509_crt_get_subject_alt_name(handle, 0, &buffer, &size, nil)
        guard kind == Int32(GNUTLS_SAN_DNSNAME.rawValue) else { return nil }
        return String(decoding: buffer.prefix(size).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The certificate's key identifier (SHA-1 of its public key, as GnuTLS computes it).
    func keyID() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var size = buffer.count
        try GnuTLSError.check(gnutls_x509_crt_get_key_id(handle, 0, &buffer, &size), "gnutls_x509_crt_get_key_id")
        return Array(buffer.prefix(size))
    }
}
