import HTTPTypes
import NIOCore

/// PostObject: a browser upload through an HTML form. The form's policy (when it has one) is
/// checked here whether or not authentication is on, so an application's upload forms behave
/// locally as on S3; its signature is the authentication stage's business.
extension S3Dispatcher {
    func postObject(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        var context = context
        let form = try await context.readPostForm(request)
        let upload = try PostObjectUpload(form: form, bucket: bucket)
        try ObjectKeys.validate(upload.key)
        try upload.policy?.check(fields: upload.conditionFields, now: .now)

        let sizeRange = upload.policy?.sizeRange
        // The form's checksum fields verify the file as it streams, like a PUT's headers.
        let checksumHeaders = HTTPFields(upload.headers.filter { $0.name.canonicalName.hasPrefix("x-amz-checksum-") })
        let file = S3Request(method: .put, target: "/", headers: checksumHeaders,
                             body: sizeRange.map { S3Body(stream: MinimumSizeBody(base: form.file, minimum: $0.lowerBound), length: nil) } ?? form.file)
        let payload = try PayloadIntegrity.prepare(file)
        let options = PutObjectOptions(
            metadata: try RequestHeaders.metadata(from: upload.headers, limit: limits.maxMetadataSize),
            owner: context.identity,
            contentMD5: try RequestHeaders.contentMD5(upload.headers),
            maxSize: min(limits.maxObjectSize, sizeRange?.upperBound ?? .max),
            checksum: payload.checksum
        )
        let info = try await backend.putObject(ObjectAddress(bucket: bucket, key: upload.key), body: payload.body, options: options)

        let scheme = context.isSecureTransport ? "https" : "http"
        let location = (request.authority.map { "\(scheme)://\($0)" } ?? "") + "/\(bucket)/" + PercentEncoding.encodeURLComponentKeepingSlash(upload.key)
        var headers = HTTPFields()
        headers[.eTag] = info.quotedETag
        ResponseHeaders.checksum(info.checksum, into: &headers)
        if let redirect = upload.redirectLocation(bucket: bucket, etag: info.quotedETag) {
            headers[.location] = redirect
            return S3Response(status: .seeOther, headers: headers)
        }
        headers[.location] = location
        switch upload.successStatus {
        case 201:
            let result = PostResponseResult(location: location, bucket: bucket, key: upload.key, etag: info.quotedETag)
            return .document(.postResponse(result), status: .created, headers: headers)
        case 200:
            return S3Response(status: .ok, headers: headers)
        default:
            return S3Response(status: .noContent, headers: headers)
        }
    }
}

/// A file that must reach `minimum` bytes (a policy's `content-length-range`): a shorter one
/// fails with `EntityTooSmall` as it ends, before the backend commits it.
struct MinimumSizeBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    let base: S3Body
    let minimum: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: S3Body.AsyncIterator
        let minimum: Int64
        var size: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else {
                guard size >= minimum else {
                    throw S3Error(.entityTooSmall).with("ProposedSize", "\(size)").with("MinSizeAllowed", "\(minimum)")
                }
                return nil
            }
            size += Int64(chunk.readableBytes)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), minimum: minimum) }
}
