public import Logging

/// Per-request state, a value enriched by copy as it passes the stages.
///
/// ```swift
/// var context = context
/// context.identity = verifiedIdentity
/// return try await next(request, context)
/// ```
public struct S3Context: Sendable {
    /// The id returned in `x-amz-request-id` and logged with every line of the request.
    public var requestID: String
    /// The logger for this request, carrying its request id. Computed on use: setting logger
    /// metadata costs more than a small request's own work, and most requests log nothing.
    public var logger: Logger {
        get {
            var logger = baseLogger
            logger[metadataKey: "request-id"] = "\(requestID)"
            return logger
        }
        set { baseLogger = newValue }
    }
    private var baseLogger: Logger
    /// Set by the routing stage.
    public var operation: S3Operation?
    /// Who is asking. The default owner when authentication is off; set by the auth stage otherwise.
    public var identity: S3Identity
    /// Decodes XML request documents (DeleteObjects, ...); installed by the XML stage.
    public var documents: (any S3DocumentDecoder)?
    /// Validates bucket policy documents (PutBucketPolicy, GetBucketPolicyStatus); installed
    /// by the authorization stage that speaks the policy language.
    public var policies: (any BucketPolicyInspector)?
    /// The client's address, for logs and policy conditions.
    public var remoteAddress: String?
    /// Whether the request came over TLS (policy `aws:SecureTransport`).
    public var isSecureTransport: Bool
    /// The region this server answers for.
    public var region: String
    /// Set by an authentication stage for signed aws-chunked bodies; consulted as the body is decoded.
    public var chunkSignatures: (any ChunkSignatureVerifier)?
    /// Authorizes one key of a multi-object request (DeleteObjects) for an action; returns the
    /// error for that key, or `nil` when allowed. Installed by an authorization stage.
    public var keyAuthorizer: KeyAuthorizer?
    /// The bucket as it was when an authorization stage allowed the request. A handler that
    /// writes bucket configuration after reading a body checks it is still that bucket.
    public var authorizedBucket: BucketInfo?
    /// Shared with the host, which logs and counts the request from it once answered.
    public var record: RequestRecord?
    /// A browser upload's form (PostObject), once a stage has read it to authenticate or
    /// authorize the request: the body has then been read up to the file, whose content is
    /// `postForm.file`. The dispatcher reads the form itself when no stage did.
    public var postForm: PostObjectForm?

    /// See `keyAuthorizer`: ``key -> error or nil` for the operation's action`.
    public typealias KeyAuthorizer = @Sendable (_ key: String) async -> S3Error?

    public init(
        requestID: String,
        logger: Logger,
        identity: S3Identity,
        region: String = "us-east-1",
        remoteAddress: String? = nil,
        isSecureTransport: Bool = false
    ) {
        self.requestID = requestID
        self.baseLogger = logger
        self.operation = nil
        self.identity = identity
        self.documents = nil
        self.policies = nil
        self.remoteAddress = remoteAddress
        self.isSecureTransport = isSecureTransport
        self.region = region
        self.chunkSignatures = nil
        self.keyAuthorizer = nil
        self.authorizedBucket = nil
        self.record = nil
        self.postForm = nil
    }

    /// Throws `NoSuchBucket` when `current` is not the bucket the request was authorized for
    /// (deleted and recreated, perhaps by someone else, while the body arrived).
    public func requireAuthorizedBucket(_ current: BucketInfo) throws {
        guard let authorized = authorizedBucket else { return }
        guard authorized.creationDate == current.creationDate, authorized.ownerID == current.ownerID else {
            throw S3Error(.noSuchBucket).with("BucketName", current.name)
        }
    }

    /// The request-document decoder, or `InternalError` when no XML stage installed one (a
    /// misassembled pipeline).
    public func requireDocuments() throws -> any S3DocumentDecoder {
        guard let documents else { throw S3Error(.internalError, message: "No XML stage decodes request documents.") }
        return documents
    }

    /// The operation, or `InternalError` when no routing stage ran (a misassembled pipeline).
    public func requireOperation() throws -> S3Operation {
        guard let operation else {
            throw S3Error(.internalError, message: "No routing stage resolved the operation.")
        }
        return operation
    }
}

/// The principal a request acts as.
public struct S3Identity: Sendable, Hashable {
    public var accessKeyID: String?
    /// The 64-hex-digit canonical user id S3 shows as `Owner/ID`.
    public var canonicalUserID: String
    public var displayName: String
    /// `arn:aws:iam::<account>:user/<name>`, or `*` for anonymous.
    public var principalARN: String

    public init(accessKeyID: String?, canonicalUserID: String, displayName: String, principalARN: String) {
        self.accessKeyID = accessKeyID
        self.canonicalUserID = canonicalUserID
        self.displayName = displayName
        self.principalARN = principalARN
    }

    public var isAnonymous: Bool { accessKeyID == nil }

    public static let anonymous = S3Identity(
        accessKeyID: nil, canonicalUserID: String(repeating: "0", count: 64),
        displayName: "anonymous", principalARN: "*"
    )

    /// The identity of a configured credential: a stable canonical id derived from the key id,
    /// and the principal ARN `arn:aws:iam::<account>:user/<name>`.
    public static func forCredential(accessKeyID: String, name: String? = nil, accountID: String? = nil) -> S3Identity {
        let canonical = SHA256.hex(Array("stowage-user:\(accessKeyID)".utf8))
        let account = accountID ?? String(canonical.utf8.prefix(12).map { Character(UnicodeScalar(UInt8(ascii: "0") + $0 % 10)) })
        let user = name ?? accessKeyID
        return S3Identity(
            accessKeyID: accessKeyID,
            canonicalUserID: canonical,
            displayName: user,
            principalARN: "arn:aws:iam::\(account):user/\(user)"
        )
    }

    /// The 12-digit account id in `principalARN` (`nil` for anonymous).
    public var accountID: String? {
        let parts = principalARN.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 5 && parts[0] == "arn" ? String(parts[4]) : nil
    }
}
