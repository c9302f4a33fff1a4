public import StowageCore

/// AWS Signature Version 4 for S3, the signing side: canonical request, string to sign, signing
/// key, signature, and the chained chunk signatures of streaming uploads. Pure functions, tested
/// with AWS's published examples; the verifying stage builds on the same canonicalisation.
///
/// ```swift
/// let signer = SigV4Signer(accessKeyID: "AKID", secretAccessKey: "secret", region: "us-east-1")
/// let headers = signer.sign(method: "GET", path: "/bucket/key", query: [], headers: [("host", "localhost:9000")],
///                           payloadHash: SigV4Signer.emptyPayloadHash, date: .now)
/// // headers: x-amz-date, x-amz-content-sha256, authorization
/// ```
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public let accessKeyID: String
    public let secretAccessKey: String
    public let region: String
    public let service: String

    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    /// `20130524T000000Z`.
    public static func amzDate(_ date: S3Timestamp) -> String {
        let iso = date.iso8601  // 2013-05-24T00:00:00.000Z
        let digits = iso.filter { $0.isNumber }
        return String(digits.prefix(8)) + "T" + String(digits.dropFirst(8).prefix(6)) + "Z"
    }

    public func scope(_ amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// The canonical request. `path` is the URI path exactly as sent (S3 does not normalise or
    /// double-encode it); `query` holds decoded names and values, encoded here (RFC 3986).
    public static func canonicalRequest(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String
    ) -> (request: String, signedHeaders: String) {
        var encoded: [(name: String, value: String)] = []
        encoded.reserveCapacity(query.count)
        for (name, value) in query {
            encoded.append((PercentEncoding.encodeUnreserved(name), PercentEncoding.encodeUnreserved(value)))
        }
        encoded.sort { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        let canonicalQuery = encoded.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(collapseSpaces(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let request = [method, path.isEmpty ? "/" : path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        return (request, signedHeaders)
    }

    /// Trims and collapses runs of spaces, as SigV4 canonical header values require.
    static func collapseSpaces(_ value: String) -> String {
        let trimmed = value.trimmingSpaces()
        // Most values have no run of spaces: return them as they are, without copying.
        var previous: UInt8 = 0
        guard trimmed.utf8.contains(where: { byte in defer { previous = byte }; return byte == 0x20 && previous == 0x20 }) else {
            return trimmed
        }
        var result: [UInt8] = []
        result.reserveCapacity(trimmed.utf8.count)
        for byte in trimmed.utf8 where !(byte == 0x20 && result.last == 0x20) {
            result.append(byte)
        }
        return String(decoding: result, as: UTF8.self)
    }

    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        [Self.algorithm, amzDate, scope(amzDate), SHA256.hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
    }

    /// The derived key: HMAC chain over date, region, service and "aws4_request".
    public func signingKey(dateStamp: String) -> [UInt8] {
        var key = HMACSHA256.authenticate(key: Array("AWS4\(secretAccessKey)".utf8), message: Array(dateStamp.utf8))
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticate(key: key, message: Array(part.utf8))
        }
        return key
    }

    public func signature(stringToSign: String, amzDate: String) -> String {
        Hex.encode(HMACSHA256.authenticate(key: signingKey(dateStamp: String(amzDate.prefix(8))), message: Array(stringToSign.utf8)))
    }

    /// Signs a request and returns the headers to add (`x-amz-date`, `x-amz-content-sha256`,
    /// `authorization`). `headers` must include `host`; they are all signed.
    public func sign(method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: S3Timestamp) -> [(String, String)] {
        let amzDate = Self.amzDate(date)
        let all = headers + [("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)]
        let (canonical, signedHeaders) = Self.canonicalRequest(method: method, path: path, query: query, headers: all, payloadHash: payloadHash)
        let signature = signature(stringToSign: stringToSign(canonicalRequest: canonical, amzDate: amzDate), amzDate: amzDate)
        return [
            ("x-amz-date", amzDate),
            ("x-amz-content-sha256", payloadHash),
            ("authorization", "\(Self.algorithm) Credential=\(accessKeyID)/\(scope(amzDate)),SignedHeaders=\(signedHeaders),Signature=\(signature)"),
        ]
    }

    /// The signature of one aws-chunked chunk, chained to the previous signature.
    public func chunkSignature(previous: String, chunkSHA256: String, amzDate: String) -> String {
        let stringToSign = ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope(amzDate), previous, Self.emptyPayloadHash, chunkSHA256].joined(separator: "\n")
        return signature(stringToSign: stringToSign, amzDate: amzDate)
    }
}
