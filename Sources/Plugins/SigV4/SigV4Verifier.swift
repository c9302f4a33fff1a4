public import StowageCore
import HTTPTypes
import Synchronization

/// Verifies a request's SigV4 signature (header or presigned) against the credential store:
/// scope, clock skew or expiry, payload-hash mode, canonical request, constant-time comparison.
///
/// ```swift
/// let verifier = SigV4Verifier(credentials: StaticCredentials(configuration.auth.credentials), region: "us-east-1")
/// if let verified = try verifier.verify(request, now: .now) {
///     context.identity = verified.identity
/// }
/// ```
public struct SigV4Verifier: Sendable {
    public let credentials: any SigV4CredentialProvider
    public let region: String
    /// The largest difference between the request's time and ours: 15 minutes, as S3.
    public static let maxSkewMilliseconds: Int64 = 900_000
    let keys = SigningKeyCache()

    public init(credentials: any SigV4CredentialProvider, region: String) {
        self.credentials = credentials
        self.region = region
    }

    /// What a verified request established.
    public struct Verified: Sendable {
        public var identity: S3Identity
        public var authorization: SigV4Authorization
        /// `x-amz-content-sha256` (or `UNSIGNED-PAYLOAD` for presigned URLs).
        public var payloadHash: String
        /// Set for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` bodies.
        public var chunkSignatures: SigV4ChunkVerifier?
    }

    /// Verifies `request`; `nil` when it carries no authentication at all (anonymous).
    public func verify(_ request: S3Request, now: S3Timestamp) throws -> Verified? {
        guard let claim = try SigV4Authorization.parse(request) else { return nil }
        guard claim.service == "s3" else {
            throw scopeError(claim, "the service '\(claim.service)' is wrong; expecting 's3'")
        }
        guard claim.region == region else {
            throw scopeError(claim, "the region '\(claim.region)' is wrong; expecting '\(region)'").with("Region", region)
        }
        guard let credential = credentials.credential(accessKeyID: claim.accessKeyID) else {
            throw S3Error(.invalidAccessKeyId, message: "The AWS Access Key Id you provided does not exist in our records.")
                .with("AWSAccessKeyId", claim.accessKeyID)
        }
        try checkTime(claim, now: now)
        // Every x-amz-* header must be signed (x-amz-content-sha256 excepted, as on S3): an unsigned
        // one could be added by anyone holding a presigned URL (x-amz-acl: public-read).
        var unsigned = claim.signedHeaders.contains("host") ? [] : ["host"]
        for field in request.headers {
            let name = field.name.canonicalName
            if name.hasPrefix("x-amz-"), name != "x-amz-content-sha256", !claim.signedHeaders.contains(name), !unsigned.contains(name) {
                unsigned.append(name)
            }
        }
        guard unsigned.isEmpty else {
            throw S3Error(.accessDenied, message: "There were headers present in the request which were not signed")
                .with("HeadersNotSigned", unsigned.joined(separator: ", "))
        }

        let payloadHash: String
        switch claim.kind {
        case .header:
            guard let declared = request.headers[.amzContentSHA256]?.trimmingSpaces() else {
                throw S3Error(.invalidRequest, message: "Missing required header for this request: x-amz-content-sha256")
            }
            payloadHash = declared
        case .presigned:
            payloadHash = request.query["X-Amz-Content-Sha256"] ?? SigV4Signer.unsignedPayload
        }

        let signingKey = keys.key(secret: credential.secretAccessKey, date: claim.scopeDate, region: claim.region, service: claim.service)
        let headers = SigV4Canonicalization.canonicalHeaders(request, signedHeaders: claim.signedHeaders)
        let query = SigV4Canonicalization.canonicalQuery(
            rawQuery: request.rawQuery, excluding: claim.kind == .header ? nil : "X-Amz-Signature"
        )
        let provided = Hex.decode(claim.signature.lowercased()) ?? []
        var first: (canonical: String, stringToSign: String)?
        for uri in SigV4Canonicalization.canonicalURIs(rawPath: request.rawPath) {
            let canonical = SigV4Canonicalization.canonicalRequest(
                method: request.method.rawValue, uri: uri, query: query, headers: headers,
                signedHeaders: claim.signedHeaders, payloadHash: payloadHash
            )
            let stringToSign = Self.stringToSign(canonicalRequest: canonical, claim: claim)
            let expected = HMACSHA256.authenticate(key: signingKey, message: Array(stringToSign.utf8))
            if provided.count == 32, ConstantTime.equals(expected, provided) {
                let streaming = payloadHash.hasPrefix("STREAMING-AWS4-HMAC-SHA256-")
                return Verified(
                    identity: credential.identity, authorization: claim, payloadHash: payloadHash,
                    chunkSignatures: streaming
                        ? SigV4ChunkVerifier(signingKey: signingKey, amzDate: claim.amzDate, scope: claim.scope,
                                             seedSignature: Hex.encode(expected), trailer: payloadHash.hasSuffix("-TRAILER"))
                        : nil
                )
            }
            if first == nil { first = (canonical, stringToSign) }
        }
        throw Self.mismatch(claim, canonicalRequest: first!.canonical, stringToSign: first!.stringToSign)
    }

    static func stringToSign(canonicalRequest: String, claim: SigV4Authorization) -> String {
        [SigV4Signer.algorithm, claim.amzDate, claim.scope, SHA256.hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
    }

    /// S3's answer to a wrong signature, with what we computed, so clients can debug.
    static func mismatch(_ claim: SigV4Authorization, canonicalRequest: String, stringToSign: String) -> S3Error {
        S3Error(.signatureDoesNotMatch, message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
            .with("AWSAccessKeyId", claim.accessKeyID)
            .with("StringToSign", stringToSign)
            .with("SignatureProvided", claim.signature)
            .with("StringToSignBytes", spacedHex(stringToSign))
            .with("CanonicalRequest", canonicalRequest)
            .with("CanonicalRequestBytes", spacedHex(canonicalRequest))
    }

    /// `2013-05-24T00:00:00Z`, as S3 writes times in these errors.
    static func isoSeconds(_ time: S3Timestamp) -> String {
        String(time.wholeSeconds.iso8601.dropLast(5)) + "Z"
    }

    static func spacedHex(_ text: String) -> String {
        text.utf8.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ")
    }

    private func scopeError(_ claim: SigV4Authorization, _ detail: String) -> S3Error {
        switch claim.kind {
        case .header: SigV4Authorization.malformed(detail)
        case .presigned: SigV4Authorization.queryError("Error parsing the X-Amz-Credential parameter; \(detail)")
        }
    }

    private func checkTime(_ claim: SigV4Authorization, now: S3Timestamp) throws {
        let skew = claim.time.millisecondsSinceEpoch - now.millisecondsSinceEpoch
        switch claim.kind {
        case .header:
            if abs(skew) > Self.maxSkewMilliseconds {
                throw S3Error(.requestTimeTooSkewed, message: "The difference between the request time and the current time is too large.")
                    .with("RequestTime", claim.amzDate)
                    .with("ServerTime", Self.isoSeconds(now))
                    .with("MaxAllowedSkewMilliseconds", "\(Self.maxSkewMilliseconds)")
            }
        case .presigned(let expires):
            let expiry = claim.time.millisecondsSinceEpoch + Int64(expires) * 1000
            if skew > Self.maxSkewMilliseconds {
                // S3 writes X-Amz-Date here in epoch milliseconds.
                throw S3Error(.accessDenied, message: "Request is not yet valid")
                    .with("X-Amz-Date", "\(claim.time.millisecondsSinceEpoch)")
                    .with("Expires", Self.isoSeconds(S3Timestamp(millisecondsSinceEpoch: expiry)))
                    .with("ServerTime", Self.isoSeconds(now))
            }
            // `>=`: a URL valid for 0 seconds is never valid.
            if now.millisecondsSinceEpoch >= expiry {
                throw S3Error(.accessDenied, message: "Request has expired")
                    .with("X-Amz-Expires", "\(expires)")
                    .with("Expires", Self.isoSeconds(S3Timestamp(millisecondsSinceEpoch: expiry)))
                    .with("ServerTime", Self.isoSeconds(now))
            }
        }
    }
}

/// Derived signing keys by (secret, date, region, service): four HMACs saved per request.
/// Keys change daily, so the cache only ever holds a few entries; it is cleared when it grows.
final class SigningKeyCache: Sendable {
    private let keys = Mutex<[String: [UInt8]]>([:])

    func key(secret: String, date: String, region: String, service: String) -> [UInt8] {
        let name = "\(date)/\(region)/\(service)/\(secret)"
        if let key = keys.withLock({ $0[name] }) { return key }
        var key = HMACSHA256.authenticate(key: Array("AWS4\(secret)".utf8), message: Array(date.utf8))
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticate(key: key, message: Array(part.utf8))
        }
        keys.withLock { cache in
            if cache.count > 256 { cache.removeAll() }
            cache[name] = key
        }
        return key
    }
}
