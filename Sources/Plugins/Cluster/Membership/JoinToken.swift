import Foundation
public import StowageCore

/// What `stowage cluster token` prints for a node to join with (CLUSTER.md §9): the cluster's
/// ID, the SHA-256 fingerprint of its CA certificate (the joiner pins it: it trusts only a
/// cluster that presents that CA), and a one-time secret it proves knowledge of. The cluster
/// keeps only ``Issued`` (a hash of the secret and the expiry), so a leaked store leaks no
/// usable token.
///
/// ```swift
/// let (token, issued) = JoinToken.make(clusterID: "c-7f3a", caFingerprint: fp, ttlMs: 3_600_000, nowMs: now)
/// print(token.encoded)                       // stowage-join-v1.c-7f3a.<fingerprint>.<secret>
/// let parsed = try JoinToken(parsing: text)  // on the joiner
/// issued.admits(parsed.secret, nowMs: now)   // on the cluster, once
/// ```
public struct JoinToken: Sendable, Hashable {
    public let clusterID: String
    /// Hex SHA-256 of the CA certificate (64 lowercase hex digits).
    public let caFingerprint: String
    public let secret: [UInt8]

    static let prefix = "stowage-join-v1"

    /// What the cluster stores for a token it issued.
    public struct Issued: Sendable, Hashable, Codable {
        public let secretHash: [UInt8]
        public let expiresMs: UInt64

        /// Whether `secret` is the token's and the token has not expired (compared in constant
        /// time; the caller removes the record once it admits a node: one use).
        public func admits(_ secret: [UInt8], nowMs: UInt64) -> Bool {
            nowMs < expiresMs && ConstantTime.equals(SHA256.hash(secret), secretHash)
        }
    }

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public init(clusterID: String, caFingerprint: String, secret: [UInt8]) {
        self.clusterID = clusterID
        self.caFingerprint = caFingerprint
        self.secret = secret
    }

    /// A fresh token (32 random bytes of secret) and the record the cluster keeps.
    public static func make(clusterID: String, caFingerprint: String, ttlMs: UInt64, nowMs: UInt64) -> (JoinToken, Issued) {
        let secret = SecureRandom.bytes(32)
        let (expires, overflow) = nowMs.addingReportingOverflow(ttlMs)
        return (
            JoinToken(clusterID: clusterID, caFingerprint: caFingerprint, secret: secret),
            Issued(secretHash: SHA256.hash(secret), expiresMs: overflow ? .max : expires)
        )
    }

    /// `stowage-join-v1.<cluster>.<fingerprint>.<secret hex>`: one word, safe to paste.
    public var encoded: String { [Self.prefix, clusterID, caFingerprint, StowageCore.Hex.encode(secret)].joined(separator: ".") }

    public init(parsing text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == Self.prefix else {
            throw Malformed(description: "not a Stowage join token (expected \(Self.prefix).<cluster>.<fingerprint>.<secret>)")
        }
        guard !parts[1].isEmpty, parts[1].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ".") }) else {
            throw Malformed(description: "the token's cluster ID is not readable")
        }
        let hexDigits = Set("0123456789abcdef".utf8)
        guard parts[2].utf8.count == 64, parts[2].utf8.allSatisfy(hexDigits.contains) else {
            throw Malformed(description: "the token's CA fingerprint is not 64 lowercase hex digits")
        }
        guard let secret = StowageCore.Hex.decode(parts[3]), secret.count == 32 else {
            throw Malformed(description: "the token's secret is not 32 bytes of hex")
        }
        self.init(clusterID: parts[1], caFingerprint: parts[2], secret: secret)
    }
}
