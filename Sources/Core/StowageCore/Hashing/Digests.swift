import CStowageOpenSSL
import Foundation

/// A streaming message digest through OpenSSL's EVP interface (MD5 for ETags, SHA-256 for
/// SigV4 payload hashes). Fed chunk by chunk, so objects are hashed as they stream.
///
/// ```swift
/// let md5 = StreamingDigest(.md5)
/// md5.update(chunk)
/// let etag = Hex.encode(md5.finalize())
/// ```
///
/// Not `Sendable`: one digest belongs to the one task that feeds it.
public final class StreamingDigest {
    public enum Algorithm: Sendable {
        case md5, sha1, sha256

        fileprivate var evp: OpaquePointer {
            switch self {
            case .md5: EVP_md5()
            case .sha1: EVP_sha1()
            case .sha256: EVP_sha256()
            }
        }
    }

    private let context: OpaquePointer

    public init(_ algorithm: Algorithm) {
        // EVP_MD_CTX_new fails only when allocation fails; that is not recoverable.
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        EVP_DigestInit_ex(context, algorithm.evp, nil)
        self.context = context
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    /// The digest. The object must not be fed after this.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    deinit { EVP_MD_CTX_free(context) }
}

/// OpenSSL's start-up and shutdown, as a server that warms it up in the background needs them.
public enum OpenSSLRuntime {
    /// Initialises OpenSSL's base without its exit-time cleanup, then builds its digest tables
    /// on a thread of its own. Without the first step, a process that exits while that thread
    /// is still building (a configuration error, `--help`) runs OpenSSL's cleanup under it and
    /// can crash. The cleanup only frees memory the exit frees anyway.
    public static func warmUpInBackground() {
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
        Thread.detachNewThread { _ = MD5.hash([UInt8]()) }
    }
}

public enum MD5 {
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let digest = StreamingDigest(.md5)
        digest.update(bytes)
        return digest.finalize()
    }
}

public enum SHA256 {
    /// One-shot SHA-256 through OpenSSL's direct (pre-EVP) implementation: the same digest,
    /// without fetching an algorithm from the provider tables. That keeps OpenSSL's first-use
    /// initialisation (about 0.7 ms) off the server's start-up path, where credentials become
    /// identities, and saves an allocation per hash on the SigV4 path.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var context = SHA256_CTX()
        SHA256_Init(&context)
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            _ = SHA256_Update(&context, buffer.baseAddress, buffer.count)
        }
        if handled == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { _ = SHA256_Update(&context, $0.baseAddress, $0.count) }
        }
        var out = [UInt8](repeating: 0, count: 32)
        SHA256_Final(&out, &context)
        return out
    }

    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        Hex.encode(hash(bytes))
    }
}

public enum HMACSHA256 {
    /// HMAC-SHA256 (one shot), as SigV4 chains it.
    public static func authenticate(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { keyBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                _ = HMAC(EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count),
                         messageBuffer.baseAddress, messageBuffer.count, &out, &length)
            }
        }
        return out
    }
}

/// Cryptographically secure random bytes (OpenSSL's DRBG).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        // RAND_bytes fails only when the DRBG cannot be seeded, which leaves no safe fallback.
        guard RAND_bytes(&out, Int32(count)) == 1 else { fatalError("RAND_bytes failed") }
        return out
    }
}

/// Constant-time comparison, for signatures and secrets.
public enum ConstantTime {
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
    }
}
