import HTTPTypes
public import NIOCore
import Synchronization

/// A body's checksum, filled in once the body has been read to the end and verified. Backends
/// store `value` with the object or part.
public final class PayloadChecksum: Sendable {
    public let algorithm: ChecksumAlgorithm
    private let computed = Mutex<[UInt8]?>(nil)

    public init(algorithm: ChecksumAlgorithm) { self.algorithm = algorithm }

    /// An already-verified checksum (for callers that hash bodies themselves, and tests).
    public convenience init(algorithm: ChecksumAlgorithm, value: [UInt8]) {
        self.init(algorithm: algorithm)
        record(value)
    }

    /// The digest (big-endian), once the whole body has been consumed.
    public var value: [UInt8]? { computed.withLock { $0 } }

    func record(_ value: [UInt8]) { computed.withLock { $0 = value } }
}

/// A request body prepared for storage: decoded (aws-chunked framing removed) and verified as it
/// streams (payload SHA-256, `x-amz-checksum-*`), with errors surfacing at the end of the stream
/// before any backend commits.
public struct PreparedPayload: Sendable {
    public var body: S3Body
    /// The payload length after decoding: `x-amz-decoded-content-length` or `Content-Length`.
    public var length: Int64?
    /// The checksum the client asked for (header or trailer); `nil` when none.
    public var checksum: PayloadChecksum?
}

/// What the pipeline verified about a request's body (see ``PayloadIntegrity/verify(_:context:)``).
public struct RequestPayload: Sendable {
    /// The payload length after decoding: `x-amz-decoded-content-length` or `Content-Length`;
    /// `nil` for a body without a declared length (HTTP chunked transfer).
    public var length: Int64?
    /// The checksum the client asked for (header or trailer), filled in once the body has been
    /// read to its end; `nil` when none.
    public var checksum: PayloadChecksum?

    public init(length: Int64?, checksum: PayloadChecksum?) {
        self.length = length
        self.checksum = checksum
    }
}

/// Reads what the client says about the payload and wraps the body to enforce it.
public enum PayloadIntegrity {
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    static let streamingModes: Set<String> = [
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    ]
    static let checksumHeaders: [(ChecksumAlgorithm, HTTPField.Name)] = ChecksumAlgorithm.allCases.map { ($0, HTTPField.Name($0.headerName)!) }
    static let trailerHeader = HTTPField.Name("x-amz-trailer")!
    static let sdkAlgorithmHeader = HTTPField.Name("x-amz-sdk-checksum-algorithm")!

    /// Prepares `request`'s body. Throws S3's errors for malformed integrity headers.
    /// `checksumsDescribeBody` is false where `x-amz-checksum-*` headers describe something else
    /// (CompleteMultipartUpload: the assembled object, not the XML).
    ///
    /// `signatures` verifies the chunk signatures of `STREAMING-AWS4-HMAC-SHA256-*` bodies; without
    /// it (authentication off) they are decoded but not checked.
    public static func prepare(_ request: S3Request, signatures: (any ChunkSignatureVerifier)? = nil,
                               checksumsDescribeBody: Bool = true) throws -> PreparedPayload {
        let headers = request.headers
        let declaredSHA = headers[.amzContentSHA256]?.trimmingSpaces()
        var expectedSHA256: [UInt8]?
        var signedChunks = false
        var chunked = headers[.contentEncoding]?.lowercased().split(separator: ",").contains { $0.trimmingSpaces() == "aws-chunked" } ?? false
        if let declaredSHA, declaredSHA != unsignedPayload {
            if declaredSHA.hasPrefix("STREAMING-") {
                guard streamingModes.contains(declaredSHA) else {
                    throw S3Error.notImplemented("The payload mode \(declaredSHA)")
                }
                chunked = true
                signedChunks = declaredSHA.hasPrefix("STREAMING-AWS4-HMAC-SHA256-")
            } else if declaredSHA.utf8.count == 64, let digest = Hex.decode(declaredSHA) {
                expectedSHA256 = digest
            } else {
                throw S3Error(.invalidArgument, message: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
                    .with("ArgumentName", "x-amz-content-sha256").with("ArgumentValue", declaredSHA)
            }
        }

        // The declared length comes from the header: a request without Content-Length has no
        // declared length even when it carries no body.
        var length = try RequestHeaders.contentLength(headers)
        if chunked {
            guard let decoded = headers[.amzDecodedContentLength].flatMap({ Int64($0.trimmingSpaces()) }), decoded >= 0 else {
                throw S3Error(.missingContentLength, message: "aws-chunked bodies need a valid x-amz-decoded-content-length header.")
            }
            length = decoded
        }

        let expectation = checksumsDescribeBody ? try checksumExpectation(headers) : nil
        let checksum = expectation.map { PayloadChecksum(algorithm: $0.algorithm) }

        if !chunked, expectedSHA256 == nil, expectation == nil {
            return PreparedPayload(body: request.body, length: length, checksum: nil)
        }
        let verifying = VerifyingBody(
            base: request.body, chunked: chunked, decodedLength: chunked ? length : nil,
            expectedSHA256: expectedSHA256, declaredSHA256: declaredSHA ?? "",
            checksum: expectation.map { ($0, checksum!) },
            signatures: signedChunks ? signatures : nil
        )
        return PreparedPayload(body: S3Body(stream: verifying, length: length), length: length, checksum: checksum)
    }

    /// Replaces `request.body` with the verified stream and records what was verified in
    /// `request.payload`. The pipeline calls it once per request, where authentication has
    /// finished (see ``S3Pipeline``); a second call does nothing.
    ///
    /// Only PUT and POST carry bodies in S3; other methods keep theirs untouched. A PostObject
    /// body is a form whose file the dispatcher verifies against the form's own fields, and a
    /// CompleteMultipartUpload's `x-amz-checksum-*` headers describe the assembled object.
    public static func verify(_ request: inout S3Request, context: S3Context) throws {
        guard request.payload == nil else { return }
        guard request.method == .put || request.method == .post else {
            request.payload = RequestPayload(length: try RequestHeaders.contentLength(request.headers), checksum: nil)
            return
        }
        // Which headers describe the body depends on the operation: verifying before routing
        // (a pipeline with `routing` after the authentication stage) would misread them.
        guard let operation = context.operation else {
            throw S3Error(.internalError, message: "The request body is verified after authentication, and no routing stage ran before it: put routing before the authentication stage.")
        }
        let describesBody: Bool
        switch operation {
        case .postObject:
            request.payload = RequestPayload(length: try RequestHeaders.contentLength(request.headers), checksum: nil)
            return
        case .completeMultipartUpload: describesBody = false
        default: describesBody = true
        }
        let prepared = try prepare(request, signatures: context.chunkSignatures, checksumsDescribeBody: describesBody)
        request.body = prepared.body
        request.payload = RequestPayload(length: prepared.length, checksum: prepared.checksum)
    }

    struct Expectation: Sendable {
        enum Source: Sendable { case header([UInt8]), trailer(String) }
        var algorithm: ChecksumAlgorithm
        var source: Source
    }

    /// Which checksum the client sends and where: one `x-amz-checksum-*` header, or a trailer
    /// named in `x-amz-trailer`, consistent with `x-amz-sdk-checksum-algorithm`.
    static func checksumExpectation(_ headers: HTTPFields) throws -> Expectation? {
        let present = checksumHeaders.filter { headers[$0.1] != nil }
        guard present.count <= 1 else {
            throw S3Error(.invalidRequest, message: "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        }
        var sdkAlgorithm: ChecksumAlgorithm?
        if let name = headers[sdkAlgorithmHeader] {
            guard let algorithm = ChecksumAlgorithm(name: name.trimmingSpaces()) else {
                throw S3Error(.invalidRequest, message: "Value for x-amz-sdk-checksum-algorithm header is invalid.")
            }
            sdkAlgorithm = algorithm
        }
        if let (algorithm, name) = present.first {
            let value = headers[name]!.trimmingSpaces()
            guard let digest = Base64.decode(value), digest.count == algorithm.digestLength, Base64.encode(digest) == value else {
                throw S3Error(.invalidRequest, message: "Value for \(algorithm.headerName) header is invalid.")
            }
            if let sdkAlgorithm, sdkAlgorithm != algorithm {
                throw S3Error(.invalidRequest, message: "Value for x-amz-sdk-checksum-algorithm header is invalid.")
            }
            return Expectation(algorithm: algorithm, source: .header(digest))
        }
        if let trailer = headers[trailerHeader] {
            let names = trailer.split(separator: ",").map { $0.trimmingSpaces().lowercased() }.filter { !$0.isEmpty }
            let algorithms = names.compactMap { ChecksumAlgorithm(headerName: $0) }
            guard algorithms.count == names.count, algorithms.count <= 1 else {
                throw S3Error(.invalidRequest, message: "The value specified in the x-amz-trailer header is not supported")
            }
            if let algorithm = algorithms.first {
                if let sdkAlgorithm, sdkAlgorithm != algorithm {
                    throw S3Error(.invalidRequest, message: "Value for x-amz-sdk-checksum-algorithm header is invalid.")
                }
                return Expectation(algorithm: algorithm, source: .trailer(algorithm.headerName))
            }
        }
        if let sdkAlgorithm {
            throw S3Error(.invalidRequest, message: "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
                .with("Algorithm", sdkAlgorithm.rawValue)
        }
        return nil
    }
}

/// Decodes aws-chunked framing (when present) and hashes the payload as it passes; at the end of
/// the stream, verifies the decoded length, the payload SHA-256 and the checksum, throwing S3's
/// error before the consumer sees the end.
struct VerifyingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    let base: S3Body
    let chunked: Bool
    let decodedLength: Int64?
    let expectedSHA256: [UInt8]?
    let declaredSHA256: String
    let checksum: (PayloadIntegrity.Expectation, PayloadChecksum)?
    let signatures: (any ChunkSignatureVerifier)?

    struct AsyncIterator: AsyncIteratorProtocol {
        var raw: S3Body.AsyncIterator
        var decoder: AWSChunkedDecoder?
        let decodedLength: Int64?
        let expectedSHA256: [UInt8]?
        let declaredSHA256: String
        let sha256: StreamingDigest?
        let checksum: (PayloadIntegrity.Expectation, PayloadChecksum)?
        let hasher: ChecksumHasher?
        let chain: (any ChunkSignatureChain)?
        var pending: [ByteBuffer] = []
        var pendingIndex = 0
        var trailers: [AWSChunkedDecoder.Trailer] = []
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            while true {
                if pendingIndex < pending.count {
                    let chunk = pending[pendingIndex]
                    pendingIndex += 1
                    chunk.withUnsafeReadableBytes { bytes in
                        sha256?.update(bytes)
                        hasher?.update(bytes)
                    }
                    return chunk
                }
                pending.removeAll(keepingCapacity: true)
                pendingIndex = 0
                if finished { return nil }
                guard var input = try await raw.next() else {
                    try finish()
                    finished = true
                    return nil
                }
                if decoder != nil {
                    var events: [AWSChunkedDecoder.Event] = []
                    try decoder!.feed(&input, into: &events)
                    try collect(events)
                } else {
                    pending.append(input)
                }
            }
        }

        /// Chunk signatures are checked as the framing is decoded: a chunk's data reaches the
        /// consumer before its signature is known (the signature covers the whole chunk), but
        /// the failure always surfaces before the end of the stream, so nothing is committed.
        private mutating func collect(_ events: [AWSChunkedDecoder.Event]) throws {
            for event in events {
                switch event {
                case .data(let slice):
                    if let chain { slice.withUnsafeReadableBytes { chain.update($0) } }
                    pending.append(slice)
                case .end(let found):
                    try chain?.finish(trailers: found)
                    trailers = found
                case .chunk(let size, let signature):
                    try chain?.beginChunk(size: size, signature: signature)
                }
            }
        }

        private mutating func finish() throws {
            if decoder != nil {
                if let last = try decoder!.finish() { try collect([last]) }
                if let decodedLength, decoder!.decodedLength != decodedLength {
                    throw S3Error(.incompleteBody, message: "The decoded body length does not match x-amz-decoded-content-length.")
                        .with("ExpectedLength", "\(decodedLength)").with("DecodedLength", "\(decoder!.decodedLength)")
                }
            }
            if let expectedSHA256, let sha256 {
                let actual = sha256.finalize()
                guard actual == expectedSHA256 else {
                    throw S3Error(.xAmzContentSHA256Mismatch)
                        .with("ClientComputedContentSHA256", declaredSHA256)
                        .with("S3ComputedContentSHA256", Hex.encode(actual))
                }
            }
            if let (expectation, result) = checksum, let hasher {
                let actual = hasher.finalize()
                let expected: [UInt8]
                switch expectation.source {
                case .header(let digest):
                    expected = digest
                case .trailer(let name):
                    guard let value = trailers.first(where: { $0.name == name })?.value else {
                        throw S3Error(.malformedTrailerError, message: "The trailer \(name) named in x-amz-trailer was not sent.")
                    }
                    guard let digest = Base64.decode(value), digest.count == expectation.algorithm.digestLength, Base64.encode(digest) == value else {
                        throw S3Error(.invalidRequest, message: "Value for \(name) trailing header is invalid.")
                    }
                    expected = digest
                }
                guard actual == expected else {
                    throw S3Error(.badDigest, message: "The \(expectation.algorithm.rawValue) you specified did not match the calculated checksum.")
                }
                result.record(actual)
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            raw: base.makeAsyncIterator(), decoder: chunked ? AWSChunkedDecoder() : nil, decodedLength: decodedLength,
            expectedSHA256: expectedSHA256, declaredSHA256: declaredSHA256,
            sha256: expectedSHA256 == nil ? nil : StreamingDigest(.sha256),
            checksum: checksum, hasher: checksum.map { ChecksumHasher($0.0.algorithm) },
            chain: signatures?.makeChain()
        )
    }
}
