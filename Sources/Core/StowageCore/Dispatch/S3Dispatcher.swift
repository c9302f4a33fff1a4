/// The terminal responder: one exhaustive `switch` over `S3Operation`, calling the backend.
///
/// S3 semantics live here (header parsing, validation, response headers); storage lives in the
/// backend; XML lives in the XML stage. Operations not built yet answer `501 NotImplemented`.
///
/// ```swift
/// let dispatcher = S3Dispatcher(backend: store, configuration: configuration)
/// let pipeline = S3Pipeline(stages: stages, responder: dispatcher)
/// ```
public struct S3Dispatcher: S3Responder {
    public let backend: any StorageBackend
    public let limits: StowageConfiguration.Limits
    public let region: String

    public init(backend: any StorageBackend, configuration: StowageConfiguration) {
        self.backend = backend
        self.limits = configuration.limits
        self.region = configuration.server.region
    }

    public func respond(to request: S3Request, context: S3Context) async throws -> S3Response {
        let operation = try context.requireOperation()
        switch operation {
        case .listBuckets:
            return try await listBuckets(request, context)
        case .createBucket(let bucket):
            return try await createBucket(bucket, request, context)
        case .deleteBucket(let bucket):
            return try await deleteBucket(bucket, request, context)
        case .headBucket(let bucket):
            return try await headBucket(bucket, request, context)
        case .getBucketLocation(let bucket):
            return try await getBucketLocation(bucket, request, context)
        case .listObjects(let bucket):
            return try await listObjectsV1(bucket, request, context)
        case .listObjectsV2(let bucket):
            return try await listObjectsV2(bucket, request, context)
        case .deleteObjects(let bucket):
            return try await deleteObjects(bucket, request, context)
        case .putObject(let address):
            return try await putObject(address, request, context)
        case .copyObject(let address, let source):
            return try await copyObject(address, source: source, request, context)
        case .getObject(let address):
            return try await getObject(address, request, context, includeBody: true)
        case .headObject(let address):
            return try await getObject(address, request, context, includeBody: false)
        case .deleteObject(let address):
            return try await deleteObject(address, request, context)
        case .createMultipartUpload(let address):
            return try await createMultipartUpload(address, request, context)
        case .uploadPart(let address, let uploadID, let partNumber):
            return try await uploadPart(address, uploadID: uploadID, partNumber: partNumber, request, context)
        case .uploadPartCopy(let address, let uploadID, let partNumber, let source):
            return try await uploadPartCopy(address, uploadID: uploadID, partNumber: partNumber, source: source, request, context)
        case .completeMultipartUpload(let address, let uploadID):
            return try await completeMultipartUpload(address, uploadID: uploadID, request, context)
        case .abortMultipartUpload(let address, let uploadID):
            return try await abortMultipartUpload(address, uploadID: uploadID, request, context)
        case .listParts(let address, let uploadID):
            return try await listParts(address, uploadID: uploadID, request, context)
        case .listMultipartUploads(let bucket):
            return try await listMultipartUploads(bucket, request, context)
        case .putBucketSubresource(let bucket, .cors):
            return try await putBucketCORS(bucket, request, context)
        case .getBucketSubresource(let bucket, .cors):
            return try await getBucketCORS(bucket, request, context)
        case .deleteBucketSubresource(let bucket, .cors):
            return try await deleteBucketCORS(bucket, request, context)
        case .getObjectSubresource(let address, .attributes):
            return try await getObjectAttributes(address, request, context)
        case .getBucketSubresource(let bucket, .policy):
            return try await getBucketPolicy(bucket, context)
        case .putBucketSubresource(let bucket, .policy):
            return try await putBucketPolicy(bucket, request, context)
        case .deleteBucketSubresource(let bucket, .policy):
            return try await deleteBucketPolicy(bucket)
        case .getBucketSubresource(let bucket, .policyStatus):
            return try await getBucketPolicyStatus(bucket, context)
        case .getBucketSubresource(let bucket, .acl):
            return try await getBucketACL(bucket, context)
        case .putBucketSubresource(let bucket, .acl):
            return try await putBucketACL(bucket, request, context)
        case .getObjectSubresource(let address, .acl):
            return try await getObjectACL(address, context)
        case .putObjectSubresource(let address, .acl):
            return try await putObjectACL(address, request)
        case .postObject(let bucket):
            return try await postObject(bucket, request, context)
        case .listObjectVersions, .getBucketSubresource, .putBucketSubresource,
            .deleteBucketSubresource, .getObjectSubresource, .putObjectSubresource, .deleteObjectSubresource,
            .postObjectSubresource, .unsupported:
            throw S3Error.notImplemented(operation.name)
        case .corsPreflight:
            // Without a CORS stage in the pipeline no origin is allowed, as S3 answers for a
            // bucket without a CORS configuration.
            throw S3Error(.corsResponse, message: "CORS is not enabled for this bucket.")
        }
    }
}
