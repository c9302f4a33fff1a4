import NIOCore
import HTTPTypes

/// Put/Get/DeleteBucketCors: the bucket's CORS configuration, validated on PUT and stored as
/// the XML document the client sent. The CORS stage reads it to answer browsers.
extension S3Dispatcher {
    static let maxCORSDocument = 64 * 1024

    func putBucketCORS(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let expectedMD5 = try RequestHeaders.contentMD5(request.headers)
        var body = try await request.collectDocument(upTo: Self.maxCORSDocument)
        if let expectedMD5, MD5.hash(body.readableBytesView) != expectedMD5 {
            throw S3Error(.badDigest)
        }
        try context.requireDocuments().decodeCORSConfiguration(body).validate()
        try context.requireAuthorizedBucket(try await backend.bucket(bucket))
        try await backend.setBucketConfiguration(bucket, kind: .cors, document: body.readBytes(length: body.readableBytes) ?? [])
        return S3Response(status: .ok)
    }

    func getBucketCORS(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        guard let stored = try await backend.bucketConfiguration(bucket, kind: .cors) else {
            throw S3Error(.noSuchCORSConfiguration).with("BucketName", bucket)
        }
        return .document(.corsConfiguration(try context.requireDocuments().decodeCORSConfiguration(ByteBuffer(bytes: stored))))
    }

    func deleteBucketCORS(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        try await backend.setBucketConfiguration(bucket, kind: .cors, document: nil)
        return S3Response(status: .noContent)
    }
}
