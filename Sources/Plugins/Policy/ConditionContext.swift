import HTTPTypes
import StowageCore

/// The condition-key values of a request, as IAM would see them (`aws:SourceIp`,
/// `aws:SecureTransport`, `s3:prefix`, `s3:max-keys`, `s3:x-amz-acl`, ...). Keys the request
/// does not carry are absent, which positive condition operators treat as a mismatch.
enum ConditionContext {
    static func values(for request: S3Request, context: S3Context, operation: S3Operation) -> [String: [String]] {
        var values: [String: [String]] = [:]
        let now = S3Timestamp.now.wholeSeconds
        values["aws:currenttime"] = [String(now.iso8601.dropLast(5)) + "Z"]
        values["aws:epochtime"] = [String(now.secondsSinceEpoch)]
        values["aws:securetransport"] = [context.isSecureTransport ? "true" : "false"]
        values["aws:requestedregion"] = [context.region]
        if let address = context.remoteAddress { values["aws:sourceip"] = [address] }
        if let agent = request.headers[.userAgent] { values["aws:useragent"] = [agent] }
        if let referer = request.headers[HTTPField.Name("Referer")!] { values["aws:referer"] = [referer] }

        let identity = context.identity
        if identity.isAnonymous {
            values["aws:principaltype"] = ["Anonymous"]
        } else {
            values["aws:principaltype"] = ["User"]
            values["aws:principalarn"] = [identity.principalARN]
            if let account = identity.accountID { values["aws:principalaccount"] = [account] }
            values["aws:username"] = [identity.displayName]
            if let key = identity.accessKeyID { values["aws:userid"] = [key] }
            values["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
            values["s3:authtype"] = [request.query.contains("X-Amz-Signature") ? "REST-QUERY-STRING" : "REST-HEADER"]
        }

        switch operation {
        case .listObjects, .listObjectsV2, .listObjectVersions, .listMultipartUploads:
            // S3 sets s3:prefix (empty when absent) and s3:delimiter/s3:max-keys when sent.
            values["s3:prefix"] = [request.query["prefix"] ?? ""]
            if let delimiter = request.query["delimiter"] { values["s3:delimiter"] = [delimiter] }
            if let maxKeys = request.query["max-keys"] ?? request.query["max-uploads"] { values["s3:max-keys"] = [maxKeys] }
        default:
            break
        }
        if let version = request.query["versionId"] { values["s3:versionid"] = [version] }

        let headerKeys: [(String, String)] = [
            ("x-amz-acl", "s3:x-amz-acl"), ("x-amz-content-sha256", "s3:x-amz-content-sha256"),
            ("x-amz-copy-source", "s3:x-amz-copy-source"), ("x-amz-metadata-directive", "s3:x-amz-metadata-directive"),
            ("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
            ("x-amz-storage-class", "s3:x-amz-storage-class"), ("if-none-match", "s3:if-none-match"),
            ("if-match", "s3:if-match"), ("x-amz-website-redirect-location", "s3:x-amz-website-redirect-location"),
            ("x-amz-sdk-checksum-algorithm", "s3:x-amz-checksum-algorithm"),
        ]
        for (header, key) in headerKeys {
            if let name = HTTPField.Name(header), let value = request.headers[name] { values[key] = [value] }
        }
        return values
    }
}
