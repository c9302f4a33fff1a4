/// Verifies the per-chunk signatures of a signed aws-chunked body
/// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`). An authentication stage that accepted such
/// a request puts one in `S3Context.chunkSignatures`; `PayloadIntegrity` feeds it every chunk
/// as the body is decoded, so a forged chunk fails the upload before anything is committed.
///
/// ```swift
/// var context = context
/// context.chunkSignatures = MyChunkVerifier(seed: verifiedSeedSignature)
/// return try await next(request, context)
/// ```
public protocol ChunkSignatureVerifier: Sendable {
    /// A fresh chain for one pass over the body.
    func makeChain() -> any ChunkSignatureChain
}

/// The state of one body's signature chain. Used by a single reader, in order.
public protocol ChunkSignatureChain: AnyObject {
    /// A chunk header arrived; the previous chunk (if any) is complete. Throws when the previous
    /// chunk's signature does not verify, or this header carries none.
    func beginChunk(size: Int, signature: String?) throws
    /// Payload bytes of the current chunk.
    func update(_ bytes: UnsafeRawBufferPointer)
    /// The body ended with these trailers (including `x-amz-trailer-signature`, if sent).
    func finish(trailers: [AWSChunkedDecoder.Trailer]) throws
}
