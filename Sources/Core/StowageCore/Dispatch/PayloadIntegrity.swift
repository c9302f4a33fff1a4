import HTTPTypes
import NIOCore

/// Verifies what the client says about the payload as it streams past: the
/// `x-amz-content-sha256` hash today; checksums and aws-chunked decoding join it here.
enum PayloadIntegrity {
    static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The request body, wrapped so that a mismatch surfaces as an error at the end of the
    /// stream, before the backend commits anything.
    static func verifiedBody(_ request: S3Request) throws -> S3Body {
        if let encoding = request.headers[.contentEncoding], encoding.lowercased().contains("aws-chunked") {
            throw S3Error.notImplemented("aws-chunked request bodies")
        }
        guard let declared = request.headers[.amzContentSHA256]?.trimmingSpaces() else { return request.body }
        if declared == unsignedPayload { return request.body }
        if declared.hasPrefix("STREAMING-") {
            throw S3Error.notImplemented("Streaming payloads (\(declared))")
        }
        guard declared.utf8.count == 64, let expected = Hex.decode(declared) else {
            throw S3Error(.invalidArgument, message: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
                .with("ArgumentName", "x-amz-content-sha256").with("ArgumentValue", declared)
        }
        return S3Body(stream: SHA256VerifyingSequence(base: request.body, expected: expected, declaredHex: declared), length: request.body.declaredLength)
    }
}

/// Passes chunks through while hashing them; at the end, throws `XAmzContentSHA256Mismatch`
/// unless the SHA-256 matches.
struct SHA256VerifyingSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    let base: S3Body
    let expected: [UInt8]
    let declaredHex: String

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: S3Body.AsyncIterator
        let digest = StreamingDigest(.sha256)
        let expected: [UInt8]
        let declaredHex: String
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            if let chunk = try await base.next() {
                chunk.withUnsafeReadableBytes { digest.update($0) }
                return chunk
            }
            finished = true
            let actual = digest.finalize()
            guard actual == expected else {
                throw S3Error(.xAmzContentSHA256Mismatch)
                    .with("ClientComputedContentSHA256", declaredHex)
                    .with("S3ComputedContentSHA256", Hex.encode(actual))
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), expected: expected, declaredHex: declaredHex)
    }
}
