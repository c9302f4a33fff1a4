public import HTTPTypes

/// What a GET or HEAD serves of an object, given its size and (for multipart objects) its
/// parts: the requested range, or the span of `partNumber`, and that part's checksum. One
/// implementation for every backend, so `partNumber` and `Range` mean the same everywhere.
///
/// ```swift
/// let range = try options.servedRange(size: record.size, parts: record.parts)   // nil: all of it
/// let partChecksum = options.partChecksum(parts: record.parts, objectChecksum: record.checksum)
/// ```
extension GetObjectOptions {
    /// The byte range to serve of an object of `size` bytes: `nil` for the whole object,
    /// `InvalidRange` (416, with `Content-Range: bytes */size`) when unsatisfiable.
    public func resolveRange(size: Int64) throws -> ByteRange? {
        guard let range else { return nil }
        guard let resolved = range.resolve(size: size) else {
            var headers = HTTPFields()
            headers[.contentRange] = "bytes */\(size)"
            throw S3Error(.invalidRange, headers: headers).with("ActualObjectSize", "\(size)")
        }
        return resolved
    }

    /// The bytes a read serves: a `partNumber`'s span, the requested range, or `nil` for all.
    /// Parts are named by the numbers they were uploaded with (GetObjectAttributes lists the
    /// same ones); a number the object has no part for is `InvalidPart`. A single-part object
    /// (`parts` empty) has exactly one part: the whole object, served as a 206.
    public func servedRange(size: Int64, parts: [ObjectPart]) throws -> ByteRange? {
        guard let part = partNumber else { return try resolveRange(size: size) }
        if parts.isEmpty {
            guard part == 1 else {
                throw S3Error(.invalidPart).with("PartNumberRequested", "\(part)").with("ActualPartCount", "1")
            }
            return size > 0 ? ByteRange(first: 0, last: size - 1) : nil
        }
        guard let position = parts.firstIndex(where: { $0.partNumber == part }) else {
            throw S3Error(.invalidPart).with("PartNumberRequested", "\(part)").with("ActualPartCount", "\(parts.count)")
        }
        let offset = parts[..<position].reduce(Int64(0)) { $0 + $1.size }
        let partSize = parts[position].size
        return partSize > 0 ? ByteRange(first: offset, last: offset + partSize - 1) : nil
    }

    /// For a `partNumber` read of a multipart object: the part's checksum in the object's
    /// algorithm (a part's own checksum is a full-object checksum of that part).
    public func partChecksum(parts: [ObjectPart], objectChecksum: ObjectChecksum?) -> ObjectChecksum? {
        guard let partNumber, let algorithm = objectChecksum?.algorithm,
              let value = parts.first(where: { $0.partNumber == partNumber })?.checksum else { return nil }
        return ObjectChecksum(algorithm: algorithm, value: value, type: .fullObject)
    }
}
