public import HTTPTypes

/// The preconditions of a read, applied by a backend atomically with the read.
extension ReadConditions {
    /// Throws S3's error when the preconditions fail for `info`: `304 NotModified` (GET/HEAD)
    /// or `412 PreconditionFailed`. Backends call this atomically with the read.
    public func enforce(on info: ObjectInfo, isReadMethod: Bool = true) throws {
        try Self.raise(evaluate(etag: info.etag, lastModified: info.lastModified, isReadMethod: isReadMethod), info: info)
    }

    /// The `x-amz-copy-source-if-*` form: every failed condition is `412 PreconditionFailed`.
    public func enforceForCopySource(on info: ObjectInfo) throws {
        switch evaluate(etag: info.etag, lastModified: info.lastModified, isReadMethod: true) {
        case .proceed: return
        case .notModified:
            let condition = ifNoneMatch != nil ? "x-amz-copy-source-If-None-Match" : "x-amz-copy-source-If-Modified-Since"
            throw S3Error(.preconditionFailed).with("Condition", condition)
        case .preconditionFailed(let condition):
            throw S3Error(.preconditionFailed).with("Condition", "x-amz-copy-source-\(condition)")
        }
    }

    private static func raise(_ outcome: Outcome, info: ObjectInfo) throws {
        switch outcome {
        case .proceed:
            return
        case .notModified:
            var headers = HTTPFields()
            headers[.eTag] = info.quotedETag
            headers[.lastModified] = info.lastModified.httpDate
            throw S3Error(.notModified, headers: headers)
        case .preconditionFailed(let condition):
            throw S3Error(.preconditionFailed).with("Condition", condition)
        }
    }
}
