/// S3's rules for completing a multipart upload, shared by every backend: which parts, the
/// `"<md5 of part md5s>-N"` ETag, and the object checksum derived from the part checksums.
public enum MultipartCompletion {
    /// All parts but the last must be at least this large.
    public static let minimumPartSize: Int64 = 5 * 1024 * 1024

    /// Validates the client's part list against the stored parts and returns the chosen parts in
    /// order: `InvalidPartOrder` unless ascending, `InvalidPart` for a missing part or a wrong
    /// ETag or checksum, `EntityTooSmall` for a non-last part under 5 MiB.
    public static func select<Part>(requested: [CompletedPart], stored: [Part], partInfo: (Part) -> PartInfo, upload: MultipartUploadInfo) throws -> [Part] {
        let byNumber = Dictionary(stored.map { (partInfo($0).partNumber, $0) }, uniquingKeysWith: { _, last in last })
        var chosen: [Part] = []
        chosen.reserveCapacity(requested.count)
        var previous = 0
        for request in requested {
            if request.checksums.count > 1 || request.checksums.contains(where: { algorithm, value in
                Base64.decode(value).map { $0.count != algorithm.digestLength || Base64.encode($0) != value } ?? true
            }) {
                throw S3Error.invalidArgument("Invalid Base64 or multiple checksums present in request", name: "PartNumber", value: "\(request.partNumber)")
            }
            guard request.partNumber > previous else {
                throw S3Error(.invalidPartOrder)
            }
            previous = request.partNumber
            guard let part = byNumber[request.partNumber], ETagMatching.matches(request.etag, partInfo(part).etag) else {
                throw S3Error(.invalidPart).with("PartNumber", "\(request.partNumber)").with("ETag", request.etag)
            }
            if let algorithm = upload.checksumAlgorithm, upload.checksumType != .fullObject, request.checksums[algorithm] == nil {
                throw S3Error(.invalidRequest, message: "The upload was created using a \(algorithm.rawValue.lowercased()) checksum. The complete request must include the checksum for each part. It was missing for part \(request.partNumber) in the request.")
            }
            if let algorithm = upload.checksumAlgorithm, let sent = request.checksums[algorithm] {
                guard let stored = partInfo(part).checksum, Base64.encode(stored.value) == sent else {
                    throw S3Error(.invalidPart, message: "The \(algorithm.rawValue) checksum given for part \(request.partNumber) does not match the part's.")
                        .with("PartNumber", "\(request.partNumber)")
                }
            }
            chosen.append(part)
        }
        for part in chosen.dropLast() {
            let info = partInfo(part)
            if info.size < minimumPartSize {
                throw S3Error(.entityTooSmall)
                    .with("ProposedSize", "\(info.size)").with("MinSizeAllowed", "\(minimumPartSize)")
                    .with("PartNumber", "\(info.partNumber)").with("ETag", "\"\(info.etag)\"")
            }
        }
        return chosen
    }

    /// Whether a Complete of `uploadID` that finds the upload gone repeats the one that made
    /// the current object (`completedUpload`, `etag`): same upload, same parts. S3 answers such a
    /// retry with the original result, leaving the object alone.
    public static func isRepeat(of uploadID: String, requested: [CompletedPart], completedUpload: String?, etag: String) -> Bool {
        guard let completedUpload, completedUpload == uploadID, !requested.isEmpty else { return false }
        let digest = StreamingDigest(.md5)
        for part in requested {
            var value = Substring(part.etag.trimmingSpaces())
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            guard let bytes = Hex.decode(String(value)), bytes.count == 16 else { return false }
            digest.update(bytes)
        }
        return Hex.encode(digest.finalize()) + "-\(requested.count)" == etag
    }

    /// The multipart ETag: MD5 of the concatenated binary part MD5s, then `-<part count>`.
    public static func etag(_ parts: [PartInfo]) -> String {
        let digest = StreamingDigest(.md5)
        for part in parts { digest.update(Hex.decode(part.etag) ?? []) }
        return Hex.encode(digest.finalize()) + "-\(parts.count)"
    }

    /// The object checksum: for COMPOSITE, the checksum of the concatenated part checksums with
    /// `-N`; for FULL_OBJECT, the CRC of the whole object combined from the part CRCs. A
    /// whole-object checksum sent with Complete must match (`BadDigest`). Also checks the
    /// assembled size against `x-amz-mp-object-size` and `limits.maxObjectSize`.
    public static func checksum(upload: MultipartUploadInfo, parts: [PartInfo], options: CompleteMultipartOptions) throws -> ObjectChecksum? {
        let size = parts.reduce(Int64(0)) { $0 + $1.size }
        if let expectedSize = options.expectedSize, expectedSize != size {
            throw S3Error(.invalidRequest, message: "The provided x-amz-mp-object-size header value \(expectedSize) does not match the size of the object, \(size).")
        }
        if let maxSize = options.maxSize, size > maxSize {
            throw S3Error(.entityTooLarge).with("ProposedSize", "\(size)").with("MaxSizeAllowed", "\(maxSize)")
        }
        if let type = options.expectedChecksumType, type != (upload.checksumType ?? .composite) || upload.checksumAlgorithm == nil {
            throw S3Error(.badDigest, message: "The upload was created using the \((upload.checksumType ?? .composite).rawValue) checksum mode. The complete request must use the same checksum mode.")
        }
        let expected = options.expectedChecksum
        guard let algorithm = upload.checksumAlgorithm else { return nil }
        let values = parts.compactMap { $0.checksum?.algorithm == algorithm ? $0.checksum?.value : nil }
        guard values.count == parts.count else {
            throw S3Error(.invalidRequest, message: "Every part of an upload created with the \(algorithm.rawValue) checksum algorithm needs a \(algorithm.rawValue) checksum.")
        }
        let checksum: ObjectChecksum
        switch upload.checksumType ?? .composite {
        case .composite:
            checksum = ObjectChecksum(algorithm: algorithm, value: ChecksumHasher.checksum(algorithm, values.joined()), type: .composite, partCount: parts.count)
        case .fullObject:
            var combined = values[0]
            for (value, part) in zip(values.dropFirst(), parts.dropFirst()) {
                guard let next = Checksums.combine(algorithm, combined, value, secondLength: part.size) else {
                    throw S3Error(.invalidRequest, message: "The FULL_OBJECT checksum type cannot be used with the \(algorithm.rawValue.lowercased()) checksum algorithm.")
                }
                combined = next
            }
            checksum = ObjectChecksum(algorithm: algorithm, value: combined, type: .fullObject)
        }
        if let expected {
            guard expected.algorithm == algorithm else {
                throw S3Error(.invalidRequest, message: "Checksum Type mismatch occurred, expected checksum Type: \(algorithm.rawValue.lowercased()), actual checksum Type: \(expected.algorithm.rawValue.lowercased())")
            }
            // COMPOSITE values travel as `<base64>-N`; the part count must match too.
            let matches = expected.value.contains("-") ? expected.value == checksum.encoded : expected.value == Base64.encode(checksum.value)
            guard matches else {
                throw S3Error(.badDigest, message: "The \(algorithm.rawValue) you specified did not match the calculated checksum.")
            }
        }
        return checksum
    }
}
