public import NIOCore

/// The checks every backend makes on a body it stores, in one place: it counts and hashes each
/// chunk as the backend writes it (MD5 for the ETag, and a checksum the backend must compute
/// itself), refuses the chunk that passes `maxSize` (`EntityTooLarge`, before it is written),
/// and at the end refuses a length other than `expectedSize` (`IncompleteBody`) and a
/// Content-MD5 that does not match (`BadDigest`). Nothing is committed before ``finish()``.
///
/// Not `Sendable`: it belongs to the one task storing the body.
///
/// ```swift
/// var ingest = BodyIngest(maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5)
/// for try await chunk in body {
///     try ingest.take(chunk)
///     try file.write(chunk)
/// }
/// let checked = try ingest.finish()      // checked.size, checked.md5 (the ETag)
/// ```
public struct BodyIngest {
    /// What a complete, checked body was.
    public struct Checked: Sendable {
        public var size: Int64
        public var md5: [UInt8]
        /// The value of the checksum the backend asked to compute, if any.
        public var checksum: [UInt8]?
    }

    public let maxSize: Int64
    public let expectedSize: Int64?
    public let contentMD5: [UInt8]?
    public private(set) var size: Int64 = 0
    private let md5 = StreamingDigest(.md5)
    private let checksum: ChecksumHasher?

    public init(maxSize: Int64, expectedSize: Int64? = nil, contentMD5: [UInt8]? = nil, computing checksum: ChecksumAlgorithm? = nil) {
        self.maxSize = maxSize
        self.expectedSize = expectedSize
        self.contentMD5 = contentMD5
        self.checksum = checksum.map(ChecksumHasher.init)
    }

    /// Counts and hashes `chunk`; `EntityTooLarge` when it takes the body past `maxSize`.
    public mutating func take(_ chunk: ByteBuffer) throws {
        size += Int64(chunk.readableBytes)
        if size > maxSize {
            throw S3Error(.entityTooLarge).with("MaxSizeAllowed", "\(maxSize)")
        }
        chunk.withUnsafeReadableBytes { bytes in
            md5.update(bytes)
            checksum?.update(bytes)
        }
    }

    /// The checked body: `IncompleteBody` for a length other than the declared one, `BadDigest`
    /// for a Content-MD5 mismatch.
    public func finish() throws -> Checked {
        if let expectedSize, size != expectedSize {
            throw S3Error(.incompleteBody).with("ExpectedSize", "\(expectedSize)").with("ActualSize", "\(size)")
        }
        let digest = md5.finalize()
        if let contentMD5, contentMD5 != digest {
            throw S3Error(.badDigest).with("ExpectedDigest", Base64.encode(contentMD5)).with("CalculatedDigest", Base64.encode(digest))
        }
        return Checked(size: size, md5: digest, checksum: checksum?.finalize())
    }
}
