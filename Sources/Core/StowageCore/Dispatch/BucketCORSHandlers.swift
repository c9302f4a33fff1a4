import NIOCore

/// Put/Get/DeleteBucketCors: the bucket's CORS configuration, validated on PUT and stored as
/// the XML document the client sent. The CORS stage reads it to answer browsers.
extension S3Dispatcher {
    static let maxCORSDocument = 64 * 1024

    func putBucketCORS(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let expectedMD5 = try RequestHeaders.contentMD5(request.headers)
        var body = try await PayloadIntegrity.collectDocument(request, context: context, upTo: Self.maxCORSDocument)
        if let expectedMD5, MD5.hash(body.readableBytesView) != expectedMD5 {
            throw S3Error(.badDigest)
        }
        guard let documents = context.documents else { throw S3Error(.internalError, message: "No XML stage decodes request documents.") }
        try documents.decodeCORSConfiguration(body).validate()
        try context.requireAuthorizedBucket(try await backend.bucket(bucket))
        try await backend.setBucketConfiguration(bucket, kind: .cors, document: body.readBytes(length: body.readableBytes) ?? [])
        return S3Response(status: .ok)
    }

    func getBucketCORS(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        guard let stored = try await backend.bucketConfiguration(bucket, kind: .cors) else {
            throw S3Error(.noSuchCORSConfiguration).with("BucketName", bucket)
        }
        guard let documents = context.documents else { throw S3Error(.internalError, message: "No XML stage decodes request documents.") }
        return .document(.corsConfiguration(try documents.decodeCORSConfiguration(ByteBuffer(bytes: stored))))
    }

    func deleteBucketCORS(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        try await backend.setBucketConfiguration(bucket, kind: .cors, document: nil)
        return S3Response(status: .noContent)
    }
}
