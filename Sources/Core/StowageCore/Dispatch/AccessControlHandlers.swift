import HTTPTypes
import NIOCore

/// Reads and checks bucket policy documents for the dispatcher. The authorization stage that
/// enforces policies installs one in the request context (`S3Context.policies`), so the
/// policy language lives in one plugin while the subresources are served here.
public protocol BucketPolicyInspector: Sendable {
    /// Throws `MalformedPolicy` for a document S3 would refuse for `bucket`.
    func validate(_ document: [UInt8], bucket: String) throws
    /// Whether the policy grants access to everyone (GetBucketPolicyStatus).
    func isPublic(_ document: [UInt8], bucket: String) throws -> Bool
}

/// Get/Put/DeleteBucketPolicy, GetBucketPolicyStatus, Get/PutBucketAcl and Get/PutObjectAcl
/// (canned ACLs): served here like CORS, stored through the backend; the authorization stage
/// only decides who may call them.
extension S3Dispatcher {

    func getBucketPolicy(_ bucket: String, _ context: S3Context) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        guard let document = try await backend.bucketConfiguration(bucket, kind: .policy) else {
            throw S3Error(.noSuchBucketPolicy).with("BucketName", bucket)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return S3Response(status: .ok, headers: headers, body: .bytes(ByteBuffer(bytes: document)))
    }

    func putBucketPolicy(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        guard let policies = context.policies else { throw S3Error.notImplemented("PutBucketPolicy without a policy stage") }
        var body = try await request.collectDocument(upTo: S3Limits.maxBucketPolicySize + 1)
        let document = body.readBytes(length: body.readableBytes) ?? []
        try context.requireAuthorizedBucket(try await backend.bucket(bucket))
        try policies.validate(document, bucket: bucket)
        try await backend.setBucketConfiguration(bucket, kind: .policy, document: document)
        return S3Response(status: .noContent)
    }

    func deleteBucketPolicy(_ bucket: String) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        try await backend.setBucketConfiguration(bucket, kind: .policy, document: nil)
        return S3Response(status: .noContent)
    }

    func getBucketPolicyStatus(_ bucket: String, _ context: S3Context) async throws -> S3Response {
        _ = try await backend.bucket(bucket)
        guard let document = try await backend.bucketConfiguration(bucket, kind: .policy) else {
            throw S3Error(.noSuchBucketPolicy).with("BucketName", bucket)
        }
        guard let policies = context.policies else { throw S3Error.notImplemented("GetBucketPolicyStatus without a policy stage") }
        return .document(.policyStatus(PolicyStatusResult(isPublic: try policies.isPublic(document, bucket: bucket))))
    }

    func getBucketACL(_ bucket: String, _ context: S3Context) async throws -> S3Response {
        let info = try await backend.bucket(bucket)
        let acl = try await backend.bucketConfiguration(bucket, kind: .acl).flatMap { CannedACL(rawValue: String(decoding: $0, as: UTF8.self)) } ?? .private
        let owner = Self.owner(info, context)
        return .document(.accessControlPolicy(AccessControlPolicy(owner: owner, grants: acl.grants(owner: owner))))
    }

    func putBucketACL(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let acl = try await requestedCannedACL(request)
        try context.requireAuthorizedBucket(try await backend.bucket(bucket))
        try await backend.setBucketConfiguration(bucket, kind: .acl, document: acl == .private ? nil : Array(acl.rawValue.utf8))
        return S3Response(status: .ok)
    }

    func getObjectACL(_ address: ObjectAddress, _ context: S3Context) async throws -> S3Response {
        let info = try await backend.bucket(address.bucket)
        let object = try await backend.headObject(address, options: GetObjectOptions())
        let acl = object.info.metadata.cannedACL ?? .private
        let owner = Self.owner(info, context)
        return .document(.accessControlPolicy(AccessControlPolicy(owner: owner, grants: acl.grants(owner: owner))))
    }

    func putObjectACL(_ address: ObjectAddress, _ request: S3Request) async throws -> S3Response {
        let acl = try await requestedCannedACL(request)
        try await backend.setObjectACL(address, acl: acl == .private ? nil : acl)
        return S3Response(status: .ok)
    }

    /// PutBucketAcl/PutObjectAcl take a canned ACL in `x-amz-acl`; explicit grants (headers
    /// or an `AccessControlPolicy` body) are not supported.
    private func requestedCannedACL(_ request: S3Request) async throws -> CannedACL {
        if request.headers.contains(where: { $0.name.canonicalName.hasPrefix("x-amz-grant-") }) {
            throw S3Error.notImplemented("ACL grants beyond the canned ACLs (x-amz-grant-*)")
        }
        let body = try await request.collectDocument(upTo: 64 * 1024)
        if body.readableBytes > 0 {
            throw S3Error.notImplemented("AccessControlPolicy documents (use a canned ACL in x-amz-acl)")
        }
        guard let acl = try CannedACL(header: request.headers[.amzACL]) else {
            throw S3Error(.missingSecurityHeader, message: "Your request was missing a required header.").with("MissingHeaderName", "x-amz-acl")
        }
        return acl
    }

    /// The owner as S3 shows it: the caller sees their own display name, others see the id.
    static func owner(_ info: BucketInfo, _ context: S3Context) -> S3Owner {
        let isCaller = info.ownerID == context.identity.canonicalUserID
        return S3Owner(id: info.ownerID, displayName: isCaller ? context.identity.displayName : info.ownerID)
    }
}
