import HTTPTypes
import NIOCore

/// ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.
extension S3Dispatcher {
    /// Largest CreateBucketConfiguration body read; real ones are a few hundred bytes.
    static let maxBucketConfigurationBody = 64 * 1024
    /// The region where S3 keeps its legacy answers (re-creating your own bucket is a 200).
    public static let legacyRegion = "us-east-1"

    func listBuckets(_ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let prefix = request.query["prefix"] ?? ""
        var maxBuckets = 10_000
        if let value = request.query["max-buckets"] {
            guard let parsed = Int(value), (1...10_000).contains(parsed) else {
                throw S3Error.invalidArgument("max-buckets must be an integer between 1 and 10000", name: "max-buckets", value: value)
            }
            maxBuckets = parsed
        }
        var after: String?
        if let token = request.query["continuation-token"] {
            guard let decoded = ContinuationToken.decode(token) else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect", name: "continuation-token", value: token)
            }
            after = decoded
        }
        let owned = try await backend.listBuckets()
            .filter { $0.ownerID == context.identity.canonicalUserID && $0.name.hasPrefix(prefix) }
            .filter { bucket in after.map { $0.utf8.lexicographicallyPrecedes(bucket.name.utf8) } ?? true }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let page = Array(owned.prefix(maxBuckets))
        var result = ListAllMyBucketsResult(
            owner: S3Owner(id: context.identity.canonicalUserID, displayName: context.identity.displayName),
            buckets: page
        )
        result.prefix = request.query["prefix"]
        if owned.count > page.count, let last = page.last {
            result.continuationToken = ContinuationToken.encode(last.name)
        }
        return .document(.listAllMyBuckets(result))
    }

    func createBucket(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        if let violation = BucketNames.violation(bucket) {
            throw S3Error(.invalidBucketName, message: "The specified bucket is not valid. \(violation).").with("BucketName", bucket)
        }
        // Validated before the bucket exists, so a bad value creates nothing.
        let acl = try CannedACL(header: request.headers[.amzACL])
        let body = try await request.collectDocument(upTo: Self.maxBucketConfigurationBody)
        if body.readableBytes > 0 {
            let configuration = try context.requireDocuments().decodeCreateBucketConfiguration(body)
            if let constraint = configuration.locationConstraint, !constraint.isEmpty, constraint != region {
                throw S3Error(
                    .illegalLocationConstraintException,
                    message: "The \(constraint) location constraint is incompatible for the region specific endpoint this request was sent to."
                )
            }
        }
        var recreated = false
        do {
            _ = try await backend.createBucket(bucket, owner: context.identity, region: region)
        } catch let error as S3Error where error.code == .bucketAlreadyOwnedByYou && region == Self.legacyRegion {
            // S3's legacy behaviour in us-east-1: re-creating a bucket you own succeeds, leaves
            // its contents alone and resets its ACL to the one asked for. Other regions answer 409.
            recreated = true
        }
        let document = acl.flatMap { $0 == .private ? nil : Array($0.rawValue.utf8) }
        if document != nil || recreated {
            try await backend.setBucketConfiguration(bucket, kind: .acl, document: document)
        }
        var headers = HTTPFields()
        headers[.location] = "/\(bucket)"
        return S3Response(status: .ok, headers: headers)
    }

    func deleteBucket(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        try await backend.deleteBucket(bucket)
        return S3Response(status: .noContent)
    }

    func headBucket(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let info = try await backend.bucket(bucket)
        var headers = HTTPFields()
        headers[.amzBucketRegion] = info.region
        return S3Response(status: .ok, headers: headers)
    }

    func getBucketLocation(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let info = try await backend.bucket(bucket)
        // S3 reports us-east-1 as an empty constraint, for historical reasons.
        return .document(.locationConstraint(LocationConstraintResult(region: info.region == "us-east-1" ? nil : info.region)))
    }
}

/// Opaque listing tokens: the position to continue after, so a token stays valid while keys
/// come and go.
enum ContinuationToken {
    private static let version: UInt8 = 1

    static func encode(_ position: String) -> String {
        Base64.encode([version] + Array(position.utf8), urlSafe: true)
    }

    static func decode(_ token: String) -> String? {
        guard let bytes = Base64.decode(token), bytes.first == version else { return nil }
        return String(validating: bytes.dropFirst(), as: UTF8.self)
    }
}
