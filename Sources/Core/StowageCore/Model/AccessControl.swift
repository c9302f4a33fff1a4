/// S3's canned ACLs (`x-amz-acl`). Stowage honours them in authorization the way S3 did before
/// ACLs were disabled by default: `public-read` lets anyone read, `public-read-write` lets
/// anyone write into a bucket, `authenticated-read` lets any authenticated user read. The other
/// values are accepted and grant nothing beyond the owner's full control.
///
/// ```swift
/// let acl = try CannedACL(header: request.headers[.amzACL])   // nil when absent
/// ```
public enum CannedACL: String, Sendable, CaseIterable, Hashable {
    case `private` = "private"
    case publicRead = "public-read"
    case publicReadWrite = "public-read-write"
    case authenticatedRead = "authenticated-read"
    case awsExecRead = "aws-exec-read"
    case bucketOwnerRead = "bucket-owner-read"
    case bucketOwnerFullControl = "bucket-owner-full-control"
    case logDeliveryWrite = "log-delivery-write"

    /// The header value, or `nil` when the header is absent. Throws S3's `InvalidArgument`.
    public init?(header: String?) throws {
        guard let header else { return nil }
        guard let acl = CannedACL(rawValue: header.trimmingSpaces()) else {
            throw S3Error(.invalidArgument, message: "Invalid canned ACL: \(header)").with("ArgumentName", "x-amz-acl").with("ArgumentValue", header)
        }
        self = acl
    }

    /// Whether anyone, signed or not, may read (list a bucket, get an object).
    public var allowsPublicRead: Bool { self == .publicRead || self == .publicReadWrite }
    /// Whether anyone may write objects into a bucket.
    public var allowsPublicWrite: Bool { self == .publicReadWrite }
    /// Whether any authenticated user may read.
    public var allowsAuthenticatedRead: Bool { allowsPublicRead || self == .authenticatedRead }

    /// The grants S3 reports for this canned ACL (`GetBucketAcl`, `GetObjectAcl`).
    public func grants(owner: S3Owner) -> [AccessControlPolicy.Grant] {
        var grants = [AccessControlPolicy.Grant(grantee: .user(owner), permission: .fullControl)]
        switch self {
        case .publicRead:
            grants.append(.init(grantee: .group(AccessControlPolicy.allUsers), permission: .read))
        case .publicReadWrite:
            grants.append(.init(grantee: .group(AccessControlPolicy.allUsers), permission: .read))
            grants.append(.init(grantee: .group(AccessControlPolicy.allUsers), permission: .write))
        case .authenticatedRead:
            grants.append(.init(grantee: .group(AccessControlPolicy.authenticatedUsers), permission: .read))
        case .logDeliveryWrite:
            grants.append(.init(grantee: .group(AccessControlPolicy.logDelivery), permission: .write))
            grants.append(.init(grantee: .group(AccessControlPolicy.logDelivery), permission: .readACP))
        default:
            break
        }
        return grants
    }
}

/// The `AccessControlPolicy` document of GetBucketAcl and GetObjectAcl.
public struct AccessControlPolicy: Sendable, Hashable {
    public static let allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"
    public static let authenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
    public static let logDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"

    public enum Grantee: Sendable, Hashable {
        case user(S3Owner)
        case group(String)
    }

    public enum Permission: String, Sendable, Hashable {
        case fullControl = "FULL_CONTROL", read = "READ", write = "WRITE", readACP = "READ_ACP", writeACP = "WRITE_ACP"
    }

    public struct Grant: Sendable, Hashable {
        public var grantee: Grantee
        public var permission: Permission
        public init(grantee: Grantee, permission: Permission) {
            self.grantee = grantee
            self.permission = permission
        }
    }

    public var owner: S3Owner
    public var grants: [Grant]

    public init(owner: S3Owner, grants: [Grant]) {
        self.owner = owner
        self.grants = grants
    }
}

/// `GetBucketPolicyStatus`: whether the bucket policy makes the bucket public.
public struct PolicyStatusResult: Sendable, Hashable {
    public var isPublic: Bool
    public init(isPublic: Bool) { self.isPublic = isPublic }
}

/// A bucket's CORS configuration (`PutBucketCors`), at most 100 rules, first match wins.
public struct CORSConfiguration: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var id: String?
        public var allowedOrigins: [String]
        public var allowedMethods: [String]
        public var allowedHeaders: [String]
        public var exposeHeaders: [String]
        public var maxAgeSeconds: Int?

        public init(id: String? = nil, allowedOrigins: [String], allowedMethods: [String], allowedHeaders: [String] = [],
                    exposeHeaders: [String] = [], maxAgeSeconds: Int? = nil) {
            self.id = id
            self.allowedOrigins = allowedOrigins
            self.allowedMethods = allowedMethods
            self.allowedHeaders = allowedHeaders
            self.exposeHeaders = exposeHeaders
            self.maxAgeSeconds = maxAgeSeconds
        }
    }

    public static let maxRules = 100
    public static let methods: Set<String> = ["GET", "PUT", "POST", "DELETE", "HEAD"]

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    /// S3's checks on PutBucketCors.
    public func validate() throws {
        guard !rules.isEmpty else { throw S3Error(.malformedXML) }
        guard rules.count <= Self.maxRules else {
            throw S3Error(.invalidRequest, message: "The number of CORS rules should not exceed allowed limit of 100 rules.")
        }
        for rule in rules {
            guard !rule.allowedOrigins.isEmpty, !rule.allowedMethods.isEmpty else { throw S3Error(.malformedXML) }
            for method in rule.allowedMethods where !Self.methods.contains(method) {
                throw S3Error(.invalidRequest, message: "Found unsupported HTTP method in CORS config. Unsupported method is \(method)")
            }
            for origin in rule.allowedOrigins where origin.filter({ $0 == "*" }).count > 1 {
                throw S3Error(.invalidRequest, message: "AllowedOrigin \"\(origin)\" can not have more than one wildcard.")
            }
            for header in rule.allowedHeaders where header.filter({ $0 == "*" }).count > 1 {
                throw S3Error(.invalidRequest, message: "AllowedHeader \"\(header)\" can not have more than one wildcard.")
            }
            if let age = rule.maxAgeSeconds, age < 0 { throw S3Error(.malformedXML) }
        }
    }
}
