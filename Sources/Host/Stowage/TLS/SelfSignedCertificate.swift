import CStowageOpenSSL
import StowageCore

/// A throwaway certificate for local HTTPS (`stowage serve --tls-self-signed`): a P-256 key and a
/// self-signed X.509 v3 certificate for `localhost`, `127.0.0.1` and `::1`, made with OpenSSL's
/// libcrypto (already linked for digests) rather than a second crypto library. Clients trust it
/// by its SHA-256 fingerprint or by the PEM itself.
///
/// ```swift
/// let certificate = try SelfSignedCertificate.make()
/// print(certificate.fingerprint)   // "3A:91:…"
/// ```
struct SelfSignedCertificate: Sendable {
    let certificatePEM: [UInt8]
    let privateKeyPEM: [UInt8]
    /// SHA-256 of the DER certificate, as colon-separated upper-case hex.
    let fingerprint: String

    struct Failure: Error, CustomStringConvertible {
        let step: String
        var description: String { "could not make a self-signed certificate: \(step) failed" }
    }

    static let names = "DNS:localhost,IP:127.0.0.1,IP:::1"

    static func make(validDays: Int = 30) throws -> SelfSignedCertificate {
        func check(_ ok: Bool, _ step: String) throws { if !ok { throw Failure(step: step) } }

        guard let keyContext = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw Failure(step: "EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(keyContext) }
        try check(EVP_PKEY_keygen_init(keyContext) == 1, "EVP_PKEY_keygen_init")
        try check(EVP_PKEY_CTX_set_group_name(keyContext, "P-256") == 1, "EVP_PKEY_CTX_set_group_name")
        var generated: OpaquePointer?
        try check(EVP_PKEY_generate(keyContext, &generated) == 1, "EVP_PKEY_generate")
        guard let key = generated else { throw Failure(step: "EVP_PKEY_generate") }
        defer { EVP_PKEY_free(key) }

        guard let certificate = X509_new() else { throw Failure(step: "X509_new") }
        defer { X509_free(certificate) }
        try check(X509_set_version(certificate, 2) == 1, "X509_set_version")
        let serial = SecureRandom.bytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } >> 1
        try check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate), serial) == 1, "serial number")
        try check(X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil, "notBefore")
        try check(X509_gmtime_adj(X509_getm_notAfter(certificate), validDays * 86_400) != nil, "notAfter")
        try check(X509_set_pubkey(certificate, key) == 1, "X509_set_pubkey")
        let name = X509_get_subject_name(certificate)
        try check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, "Stowage self-signed", -1, -1, 0) == 1, "organisation")
        try check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, "localhost", -1, -1, 0) == 1, "common name")
        try check(X509_set_issuer_name(certificate, name) == 1, "X509_set_issuer_name")

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, certificate, certificate, nil, nil, 0)
        // An end-entity certificate (clients such as rustls refuse a CA certificate as a server's),
        // self-issued, so `keyCertSign` lets OpenSSL-based clients that trust it verify its
        // signature; and the names clients check.
        for (nid, value) in [(NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature,keyCertSign"),
                             (NID_ext_key_usage, "serverAuth"), (NID_subject_key_identifier, "hash"),
                             (NID_subject_alt_name, names)] {
            guard let extensionValue = X509V3_EXT_conf_nid(nil, &context, nid, value) else { throw Failure(step: "extension \(nid)") }
            defer { X509_EXTENSION_free(extensionValue) }
            try check(X509_add_ext(certificate, extensionValue, -1) == 1, "X509_add_ext")
        }
        try check(X509_sign(certificate, key, EVP_sha256()) > 0, "X509_sign")

        let certificatePEM = try pem("PEM_write_bio_X509") { PEM_write_bio_X509($0, certificate) }
        let keyPEM = try pem("PEM_write_bio_PrivateKey") { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        try check(X509_digest(certificate, EVP_sha256(), &digest, &length) == 1, "X509_digest")
        let fingerprint = digest.prefix(Int(length)).map { Hex.encode([$0]).uppercased() }.joined(separator: ":")
        return SelfSignedCertificate(certificatePEM: certificatePEM, privateKeyPEM: keyPEM, fingerprint: fingerprint)
    }

    /// What `write` puts into a memory BIO.
    private static func pem(_ step: String, _ write: (OpaquePointer) -> Int32) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Failure(step: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw Failure(step: step) }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
        guard read == bytes.count else { throw Failure(step: "BIO_read") }
        return bytes
    }
}
