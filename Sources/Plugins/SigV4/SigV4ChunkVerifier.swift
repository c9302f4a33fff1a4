public import StowageCore

/// Verifies the chained signatures of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` body:
/// each chunk signs its data and the previous signature (starting from the request's seed
/// signature), and the `-TRAILER` variant signs the trailing headers last.
///
/// ```swift
/// let verifier = SigV4ChunkVerifier(signingKey: key, amzDate: "20130524T000000Z",
///                                   scope: "20130524/us-east-1/s3/aws4_request", seedSignature: seed, trailer: false)
/// let chain = verifier.makeChain()
/// try chain.beginChunk(size: 65536, signature: "ad80c730…")
/// ```
public struct SigV4ChunkVerifier: ChunkSignatureVerifier {
    let signingKey: [UInt8]
    let amzDate: String
    let scope: String
    let seedSignature: String
    let trailer: Bool

    public init(signingKey: [UInt8], amzDate: String, scope: String, seedSignature: String, trailer: Bool) {
        self.signingKey = signingKey
        self.amzDate = amzDate
        self.scope = scope
        self.seedSignature = seedSignature
        self.trailer = trailer
    }

    public func makeChain() -> any ChunkSignatureChain { Chain(self) }

    /// The signature of a chunk whose data hashes to `dataSHA256` (hex).
    func chunkSignature(previous: String, dataSHA256: String) -> [UInt8] {
        let stringToSign = ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, SigV4Signer.emptyPayloadHash, dataSHA256].joined(separator: "\n")
        return HMACSHA256.authenticate(key: signingKey, message: Array(stringToSign.utf8))
    }

    /// The signature of the trailing headers, rendered `name:value\n` each, in the order sent.
    func trailerSignature(previous: String, trailers: [AWSChunkedDecoder.Trailer]) -> [UInt8] {
        let text = trailers.map { "\($0.name):\($0.value)\n" }.joined()
        let stringToSign = ["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previous, SHA256.hex(Array(text.utf8))].joined(separator: "\n")
        return HMACSHA256.authenticate(key: signingKey, message: Array(stringToSign.utf8))
    }

    static let trailerSignatureName = "x-amz-trailer-signature"

    static func mismatch(_ what: String) -> S3Error {
        S3Error(.signatureDoesNotMatch, message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
            .with("Detail", what)
    }

    /// One body's chain. Owned by the single reader of that body.
    final class Chain: ChunkSignatureChain {
        let verifier: SigV4ChunkVerifier
        var previous: String
        var open: (signature: String, digest: StreamingDigest)?
        var sawFinalChunk = false

        init(_ verifier: SigV4ChunkVerifier) {
            self.verifier = verifier
            self.previous = verifier.seedSignature
        }

        func beginChunk(size: Int, signature: String?) throws {
            try closeOpenChunk()
            guard let signature else { throw SigV4ChunkVerifier.mismatch("A chunk of a signed streaming upload carries no chunk-signature.") }
            if size == 0 {
                try check(signature, dataSHA256: SigV4Signer.emptyPayloadHash)
                sawFinalChunk = true
            } else {
                open = (signature, StreamingDigest(.sha256))
            }
        }

        func update(_ bytes: UnsafeRawBufferPointer) {
            open?.digest.update(bytes)
        }

        func finish(trailers: [AWSChunkedDecoder.Trailer]) throws {
            try closeOpenChunk()
            guard sawFinalChunk else { throw SigV4ChunkVerifier.mismatch("The signed stream ended without its final chunk.") }
            let signed = trailers.filter { $0.name != SigV4ChunkVerifier.trailerSignatureName }
            let provided = trailers.first { $0.name == SigV4ChunkVerifier.trailerSignatureName }?.value
            guard verifier.trailer else {
                guard signed.isEmpty, provided == nil else { throw SigV4ChunkVerifier.mismatch("Trailers sent in a stream that declares none.") }
                return
            }
            guard let provided, let bytes = Hex.decode(provided.lowercased()), bytes.count == 32 else {
                throw SigV4ChunkVerifier.mismatch("The trailer carries no valid x-amz-trailer-signature.")
            }
            guard ConstantTime.equals(verifier.trailerSignature(previous: previous, trailers: signed), bytes) else {
                throw SigV4ChunkVerifier.mismatch("The trailer signature does not match.")
            }
        }

        private func closeOpenChunk() throws {
            guard let (signature, digest) = open else { return }
            open = nil
            try check(signature, dataSHA256: Hex.encode(digest.finalize()))
        }

        private func check(_ signature: String, dataSHA256: String) throws {
            guard let provided = Hex.decode(signature.lowercased()), provided.count == 32,
                  ConstantTime.equals(verifier.chunkSignature(previous: previous, dataSHA256: dataSHA256), provided)
            else { throw SigV4ChunkVerifier.mismatch("A chunk signature does not match.") }
            previous = signature.lowercased()
        }
    }
}
