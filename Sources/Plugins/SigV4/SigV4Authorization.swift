public import StowageCore

/// What a request claims about its signature, parsed from the `Authorization` header or from
/// the presigned query parameters. Pure parsing; nothing is verified here.
///
/// ```swift
/// let claim = try SigV4Authorization.parse(request)   // nil: the request is anonymous
/// claim?.accessKeyID                                   // "AKIAIOSFODNN7EXAMPLE"
/// ```
public struct SigV4Authorization: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case header
        /// Query-string authentication, valid for `expires` seconds from `amzDate`.
        case presigned(expires: Int)
    }

    public var kind: Kind
    public var accessKeyID: String
    /// The scope's date, `YYYYMMDD`.
    public var scopeDate: String
    public var region: String
    public var service: String
    /// Lower-case header names, in the order given.
    public var signedHeaders: [String]
    /// 64 lower-case hex digits as sent.
    public var signature: String
    /// `YYYYMMDDTHHMMSSZ`; for header authentication it comes from `X-Amz-Date` or `Date`.
    public var amzDate: String
    /// The moment `amzDate` denotes.
    public var time: S3Timestamp

    public var scope: String { "\(scopeDate)/\(region)/\(service)/aws4_request" }

    static let presignedParameters = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]
    /// Longest validity of a presigned URL: seven days.
    public static let maxExpires = 604_800

    /// Parses the request's authentication, or returns `nil` when it carries none (anonymous).
    public static func parse(_ request: S3Request) throws -> SigV4Authorization? {
        let header = request.headers[.authorization]
        let presigned = request.query.contains("X-Amz-Algorithm") || request.query.contains("X-Amz-Credential")
            || request.query.contains("X-Amz-Signature")
        if header != nil, presigned {
            throw S3Error(.invalidArgument, message: "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
                .with("ArgumentName", "Authorization").with("ArgumentValue", header!)
        }
        if let header { return try parseHeader(header, request: request) }
        if presigned { return try parsePresigned(request.query) }
        if request.query.contains("Signature") || request.query.contains("AWSAccessKeyId") {
            throw S3Error(.invalidRequest, message: "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
        }
        return nil
    }

    // MARK: Authorization header

    static func parseHeader(_ header: String, request: S3Request) throws -> SigV4Authorization {
        let trimmed = header.trimmingSpaces()
        let algorithm = SigV4Signer.algorithm + " "
        guard trimmed.hasPrefix(algorithm) else {
            if trimmed.hasPrefix("AWS ") {
                throw S3Error(.invalidRequest, message: "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
            }
            throw S3Error(.invalidArgument, message: "Unsupported Authorization Type")
                .with("ArgumentName", "Authorization").with("ArgumentValue", header)
        }
        var credential: String?
        var signedHeaders: String?
        var signature: String?
        for component in trimmed.dropFirst(algorithm.count).split(separator: ",") {
            let part = component.trimmingSpaces()
            guard let equals = part.firstIndex(of: "=") else { throw malformed("the authorization component \"\(part)\" is malformed.") }
            let name = part[..<equals]
            let value = String(part[part.index(after: equals)...])
            switch name {
            case "Credential": credential = value
            case "SignedHeaders": signedHeaders = value
            case "Signature": signature = value
            default: throw malformed("the authorization component \"\(part)\" is malformed.")
            }
        }
        guard let credential, let signedHeaders, let signature else {
            throw malformed("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
        }
        let scope = try parseCredential(credential, error: malformed("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."))

        let amzDate: String
        let time: S3Timestamp
        if let value = request.headers[.amzDate] {
            guard let parsed = parseAMZDate(value) else {
                throw S3Error(.accessDenied, message: "AWS authentication requires a valid Date or x-amz-date header")
            }
            (amzDate, time) = (value, parsed)
        } else if let value = request.headers[.date], let parsed = S3Timestamp(httpDate: value) {
            (amzDate, time) = (SigV4Signer.amzDate(parsed), parsed)
        } else {
            throw S3Error(.accessDenied, message: "AWS authentication requires a valid Date or x-amz-date header")
        }
        guard amzDate.hasPrefix(scope.date) else {
            throw malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
        }
        return SigV4Authorization(
            kind: .header, accessKeyID: scope.accessKeyID, scopeDate: scope.date, region: scope.region, service: scope.service,
            signedHeaders: try parseSignedHeaders(signedHeaders, error: malformed("the SignedHeaders component is malformed.")),
            signature: signature, amzDate: amzDate, time: time
        )
    }

    static func malformed(_ detail: String) -> S3Error {
        S3Error(.authorizationHeaderMalformed, message: "The authorization header is malformed; \(detail)")
    }

    // MARK: Presigned query

    static func parsePresigned(_ query: QueryParameters) throws -> SigV4Authorization {
        let missing = presignedParameters.filter { query[$0] == nil }
        guard missing.isEmpty else {
            throw queryError("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        }
        guard query["X-Amz-Algorithm"] == SigV4Signer.algorithm else {
            throw queryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        }
        let scope = try parseCredential(query["X-Amz-Credential"]!, error: queryError("Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."))
        let amzDate = query["X-Amz-Date"]!
        guard let time = parseAMZDate(amzDate) else {
            throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        guard amzDate.hasPrefix(scope.date) else {
            throw queryError("Invalid credential date. Date is not the same as X-Amz-Date.")
        }
        let expiresText = query["X-Amz-Expires"]!
        guard let expires = Int(expiresText), expiresText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            if expiresText.hasPrefix("-") { throw queryError("X-Amz-Expires must be non-negative") }
            throw queryError("X-Amz-Expires should be a number")
        }
        guard expires <= maxExpires else { throw queryError("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds") }
        return SigV4Authorization(
            kind: .presigned(expires: expires), accessKeyID: scope.accessKeyID, scopeDate: scope.date, region: scope.region,
            service: scope.service,
            signedHeaders: try parseSignedHeaders(query["X-Amz-SignedHeaders"]!, error: queryError("X-Amz-SignedHeaders is malformed.")),
            signature: query["X-Amz-Signature"]!, amzDate: amzDate, time: time
        )
    }

    static func queryError(_ message: String) -> S3Error {
        S3Error(.authorizationQueryParametersError, message: message)
    }

    // MARK: Pieces

    static func parseCredential(_ credential: String, error: S3Error) throws -> (accessKeyID: String, date: String, region: String, service: String) {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, !parts[0].isEmpty, parts[4] == "aws4_request", parts[1].utf8.count == 8,
              parts[1].utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), !parts[2].isEmpty, !parts[3].isEmpty
        else { throw error }
        return (String(parts[0]), String(parts[1]), String(parts[2]), String(parts[3]))
    }

    static func parseSignedHeaders(_ value: String, error: S3Error) throws -> [String] {
        let names = value.split(separator: ";", omittingEmptySubsequences: false).map { String($0) }
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && $0 == $0.lowercased() }) else { throw error }
        return names
    }

    /// `20130524T000000Z` → the moment; `nil` when malformed.
    public static func parseAMZDate(_ value: String) -> S3Timestamp? {
        let bytes = Array(value.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var result = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                result = result * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return result
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let iso = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2) + ".000Z"
        return S3Timestamp(iso8601: iso)
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
