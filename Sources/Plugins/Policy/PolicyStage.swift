public import StowageCore
import Foundation
import HTTPTypes
import NIOCore
import Synchronization

/// Authorizes every routed request the way S3 does. The access-control subresources (policy,
/// policy status, ACLs) are served by the dispatcher; this stage decides who may call them and
/// gives the dispatcher the policy language (`S3Context.policies`) to validate documents.
///
/// The decision, for a request to a bucket: an explicit `Deny` in the bucket policy refuses;
/// the bucket's owner is allowed; an `Allow` in the policy allows; a canned ACL on the bucket
/// (`public-read`, ...) or, for reads, on the object allows; anything else is `AccessDenied`.
/// ListBuckets and CreateBucket need a signed request. The bucket owner can always manage the
/// bucket's policy, so a too-broad `Deny` cannot lock them out.
///
/// With `auth.enabled` false every request acts as the default owner: policies and ACLs are
/// stored, validated and served, but there is no one else to refuse.
///
/// ```swift
/// let stage = PolicyStage(backend: backend, enforce: true, users: configuration.auth.credentials.map(\.identity))
/// ```
public struct PolicyStage: S3Stage {
    public let backend: any StorageBackend
    public let enforce: Bool
    /// Account ids by canonical user id: who shares the bucket owner's account.
    public let accounts: [String: String]
    private let cache = BucketConfigurationCache<BucketAccessState>()

    public init(backend: any StorageBackend, enforce: Bool, users: [S3Identity] = []) {
        self.backend = backend
        self.enforce = enforce
        self.accounts = Dictionary(users.compactMap { user in user.accountID.map { (user.canonicalUserID, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    public var role: S3StageRole { .authorization }

    public func handle(_ request: S3Request, context: S3Context, next: S3Next) async throws -> S3Response {
        let operation = try context.requireOperation()
        var context = context
        context.policies = PolicyDocuments()
        if enforce {
            // A browser upload names its key in the form: read the form up to the file first.
            if case .postObject = operation { _ = try await context.readPostForm(request) }
            do {
                context.authorizedBucket = try await authorize(operation, request, context)
            } catch let denied as S3Error where denied.code == .accessDenied {
                // A read of a key that does not exist is a 404 for callers who may list it (the
                // listing would tell them anyway), and stays 403 for the rest, as S3 answers.
                if let address = Self.existenceRevealingRead(operation), try await objectIsMissing(address),
                   try await mayList(address, request, context) {
                    throw S3Error(.noSuchKey).with("Key", address.key)
                }
                throw denied
            }
            if case .deleteObjects = operation, let info = context.authorizedBucket {
                context.keyAuthorizer = deleteAuthorizer(bucket: info, request: request, context: context)
            }
        }
        guard enforce, let address = Self.existenceRevealingRead(operation) else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch let error as S3Error where error.code == .noSuchKey {
            guard try await mayList(address, request, context) else { throw S3Error(.accessDenied) }
            throw error
        }
    }

    // MARK: Missing keys

    /// Reads whose answer for a missing key depends on `s3:ListBucket` (S3's rule for not
    /// leaking which keys exist).
    static func existenceRevealingRead(_ operation: S3Operation) -> ObjectAddress? {
        switch operation {
        case .getObject(let address), .headObject(let address), .getObjectSubresource(let address, .attributes):
            return address
        default:
            return nil
        }
    }

    private func objectIsMissing(_ address: ObjectAddress) async throws -> Bool {
        do {
            _ = try await backend.headObject(address, options: GetObjectOptions())
            return false
        } catch let error as S3Error where error.code == .noSuchKey {
            return true
        }
    }

    /// Whether the caller may list `address.key` (`s3:ListBucket` with `s3:prefix` set to the key).
    private func mayList(_ address: ObjectAddress, _ request: S3Request, _ context: S3Context) async throws -> Bool {
        guard let bucket = try await existingBucket(address.bucket) else { return false }
        var values = ConditionContext.values(for: request, context: context, operation: .listObjects(bucket: address.bucket))
        values["s3:prefix"] = [address.key]
        do {
            try await check(action: "s3:ListBucket", resource: "arn:aws:s3:::\(address.bucket)", object: nil, bucket: bucket,
                            context: context, conditionValues: { values })
            return true
        } catch let error as S3Error where error.code == .accessDenied {
            return false
        }
    }

    // MARK: Authorization

    /// Authorizes the operation; returns the bucket as it was when authorized (`nil` for
    /// requests without one), so writes that finish later can check it is still that bucket.
    private func authorize(_ operation: S3Operation, _ request: S3Request, _ context: S3Context) async throws -> BucketInfo? {
        switch operation {
        case .listBuckets, .createBucket:
            // Account-level operations: any signed caller, nobody anonymous.
            if context.identity.isAnonymous { throw S3Error(.accessDenied) }
            return nil
        case .corsPreflight:
            return nil
        case .postObject(let bucketName):
            return try await authorizeUpload(bucketName, request, context)
        default:
            break
        }
        guard let bucketName = operation.bucket else { return nil }
        // Fail closed: a bucket that does not exist now is answered here, so nothing can be
        // authorized against a bucket that appears while the request is still arriving.
        let info = try await backend.bucket(bucketName)
        // Built only if a policy is there to read them.
        let conditionValues = { ConditionContext.values(for: request, context: context, operation: operation) }
        if case .deleteObjects = operation {
            // Authorized per key as the keys are read (`keyAuthorizer`), as S3 does: a grant
            // on a prefix covers the keys under it. A caller no grant could cover is refused
            // before the body (up to megabytes of keys) is read.
            try await requireSomeDeleteGrant(bucket: info, identity: context.identity)
            return info
        }
        try await check(
            action: operation.iamAction, resource: Self.resourceARN(operation), object: operation.object,
            bucket: info, context: context, conditionValues: conditionValues
        )
        if let object = operation.object, Self.setsACL(operation, request) {
            // Writing an object with an ACL also needs s3:PutObjectAcl, or a caller denied it
            // could publish an object anyway.
            try await check(
                action: "s3:PutObjectAcl", resource: "arn:aws:s3:::\(object.bucket)/\(object.key)", object: object,
                bucket: info, context: context, conditionValues: conditionValues
            )
        }
        // GetObjectAttributes reads the object: S3 requires s3:GetObject as well.
        if case .getObjectSubresource(let object, .attributes) = operation {
            try await check(
                action: "s3:GetObject", resource: Self.resourceARN(operation), object: object,
                bucket: info, context: context, conditionValues: conditionValues
            )
        }
        // Copies read their source: the caller needs s3:GetObject there too.
        let source: CopySource? = switch operation {
        case .copyObject(_, let source), .uploadPartCopy(_, _, _, let source): source
        default: nil
        }
        if let address = source?.address, let sourceBucket = try await existingBucket(address.bucket) {
            try await check(
                action: "s3:GetObject", resource: "arn:aws:s3:::\(address.bucket)/\(address.key)", object: address,
                bucket: sourceBucket, context: context, conditionValues: conditionValues
            )
        }
        return info
    }

    /// A browser upload is a PutObject of the form's key (and PutObjectAcl with an `acl` field),
    /// authorized as the identity that signed the form's policy.
    private func authorizeUpload(_ bucketName: String, _ request: S3Request, _ context: S3Context) async throws -> BucketInfo {
        let info = try await backend.bucket(bucketName)
        guard let form = context.postForm else { throw S3Error(.internalError, message: "The upload form was not read.") }
        let upload = try PostObjectUpload(form: form, bucket: bucketName)
        let object = ObjectAddress(bucket: bucketName, key: upload.key)
        var values = ConditionContext.values(for: request, context: context, operation: .postObject(bucket: bucketName))
        if let acl = upload.headers[.amzACL] { values["s3:x-amz-acl"] = [acl] }
        let resource = "arn:aws:s3:::\(bucketName)/\(upload.key)"
        try await check(action: "s3:PutObject", resource: resource, object: object, bucket: info, context: context, conditionValues: { values })
        if upload.headers[.amzACL] != nil {
            try await check(action: "s3:PutObjectAcl", resource: resource, object: object, bucket: info, context: context, conditionValues: { values })
        }
        return info
    }

    private func requireSomeDeleteGrant(bucket: BucketInfo, identity: S3Identity) async throws {
        if !identity.isAnonymous, identity.canonicalUserID == bucket.ownerID { return }
        let state = try await state(of: bucket)
        if let acl = state.acl, Self.aclAllows(acl, action: "s3:DeleteObject", identity: identity, isObjectResource: true) { return }
        if state.policy?.mayAllowSomeObject(identity, action: "s3:DeleteObject", bucket: bucket.name) == true { return }
        throw S3Error(.accessDenied)
    }

    static func setsACL(_ operation: S3Operation, _ request: S3Request) -> Bool {
        switch operation {
        case .putObject, .copyObject, .createMultipartUpload:
            return request.headers[.amzACL] != nil
                || request.headers.contains { $0.name.canonicalName.hasPrefix("x-amz-grant-") }
        default:
            return false
        }
    }

    private func existingBucket(_ name: String) async throws -> BucketInfo? {
        do {
            return try await backend.bucket(name)
        } catch let error as S3Error where error.code == .noSuchBucket {
            return nil
        }
    }

    /// One action on one resource: deny wins, then the owner, then policy Allow, then ACLs.
    private func check(
        action: String, resource: String, object: ObjectAddress?, bucket: BucketInfo, context: S3Context,
        conditionValues: () -> [String: [String]]
    ) async throws {
        let identity = context.identity
        let isOwner = !identity.isAnonymous && identity.canonicalUserID == bucket.ownerID
        let state = try await state(of: bucket)
        let decision = state.policy?.evaluate(
            PolicyRequest(identity: identity, action: action, resource: resource, conditionValues: conditionValues())
        ) ?? .noMatch
        if Self.policyManagement.contains(action), !isOwner {
            // Only the bucket owner's account manages its policy: S3 answers others 405 even
            // when a policy allows them (403 when it does not).
            guard decision == .allow else { throw S3Error(.accessDenied) }
            guard let account = identity.accountID, account == accounts[bucket.ownerID] else {
                throw S3Error(.methodNotAllowed, message: "The specified method is not allowed against this resource.")
            }
            return
        }
        switch decision {
        case .explicitDeny:
            if isOwner, Self.policyManagement.contains(action) { return }
            throw S3Error(.accessDenied)
        case .allow:
            return
        case .noMatch:
            if isOwner { return }
        }
        if let acl = state.acl, Self.aclAllows(acl, action: action, identity: identity, isObjectResource: object != nil) { return }
        if Self.objectACLReads.contains(action), let object, try await objectACLAllowsRead(object, identity: identity) { return }
        throw S3Error(.accessDenied)
    }

    /// What an object's READ grant (a `public-read` object ACL) allows.
    static let objectACLReads: Set<String> = ["s3:GetObject", "s3:GetObjectAttributes"]

    static let policyManagement: Set<String> = ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]

    /// What a canned bucket ACL grants: READ lists the bucket, WRITE creates and deletes objects.
    static func aclAllows(_ acl: CannedACL, action: String, identity: S3Identity, isObjectResource: Bool) -> Bool {
        let reads: Set<String> = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]
        let writes: Set<String> = ["s3:PutObject", "s3:DeleteObject"]
        if reads.contains(action) {
            return acl.allowsPublicRead || (acl.allowsAuthenticatedRead && !identity.isAnonymous)
        }
        if writes.contains(action), isObjectResource || action == "s3:DeleteObject" {
            return acl.allowsPublicWrite
        }
        return false
    }

    private func objectACLAllowsRead(_ address: ObjectAddress, identity: S3Identity) async throws -> Bool {
        guard let head = try? await backend.headObject(address, options: GetObjectOptions()),
            let acl = head.info.metadata.cannedACL
        else { return false }
        return acl.allowsPublicRead || (acl.allowsAuthenticatedRead && !identity.isAnonymous)
    }

    /// DeleteObjects is authorized per key, as S3 does: a denied key is an `AccessDenied`
    /// entry in the result while the others are deleted.
    private func deleteAuthorizer(bucket: BucketInfo, request: S3Request, context: S3Context) -> S3Context.KeyAuthorizer {
        // Once for all keys: the values do not depend on the key.
        let values = ConditionContext.values(for: request, context: context, operation: .deleteObjects(bucket: bucket.name))
        let conditionValues: @Sendable () -> [String: [String]] = { values }
        return { [self] key in
            do {
                try await check(
                    action: "s3:DeleteObject", resource: "arn:aws:s3:::\(bucket.name)/\(key)",
                    object: ObjectAddress(bucket: bucket.name, key: key), bucket: bucket, context: context,
                    conditionValues: conditionValues
                )
                return nil
            } catch let error as S3Error {
                return error
            } catch {
                return S3Error.wrapping(error)
            }
        }
    }

    /// The ARN a policy's `Resource` is matched against.
    static func resourceARN(_ operation: S3Operation) -> String {
        if let object = operation.object { return "arn:aws:s3:::\(object.bucket)/\(object.key)" }
        if case .deleteObjects(let bucket) = operation { return "arn:aws:s3:::\(bucket)/*" }
        return "arn:aws:s3:::\(operation.bucket ?? "")"
    }

    // MARK: Per-bucket state

    private func state(of bucket: BucketInfo) async throws -> BucketAccessState {
        try await cache.value(for: bucket) {
            let policyDocument = try await backend.bucketConfiguration(bucket.name, kind: .policy)
            let aclText = try await backend.bucketConfiguration(bucket.name, kind: .acl).map { String(decoding: $0, as: UTF8.self) }
            return BucketAccessState(
                policy: try policyDocument.map { try BucketPolicy(json: $0, bucket: bucket.name) },
                acl: aclText.flatMap(CannedACL.init(rawValue:))
            )
        }
    }
}

/// A bucket's policy and ACL as parsed, cached under the bucket's configuration version.
struct BucketAccessState: Sendable {
    var policy: BucketPolicy?
    var acl: CannedACL?
}

/// The policy language, for the dispatcher's policy subresources.
struct PolicyDocuments: BucketPolicyInspector {
    func validate(_ document: [UInt8], bucket: String) throws {
        _ = try BucketPolicy(json: document, bucket: bucket)
    }

    func isPublic(_ document: [UInt8], bucket: String) throws -> Bool {
        try BucketPolicy(json: document, bucket: bucket).isPublic
    }
}
