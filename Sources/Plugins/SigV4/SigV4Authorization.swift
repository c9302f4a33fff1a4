public import StowageCore
import HTTPTypes

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
        // Parsed on bytes: this runs on every signed request, and Character-wise splitting
        // and trimming were a tenth of a small request's CPU.
        let bytes = Array(trimmed.utf8)
        var index = algorithm.utf8.count
        while index < bytes.count {
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
            var start = index
            var stop = end
            while start < stop, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            while stop > start, bytes[stop - 1] == 0x20 || bytes[stop - 1] == 0x09 { stop -= 1 }
            index = end + 1
            if start == stop { continue }
            let part = bytes[start..<stop]
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else {
                throw malformed("the authorization component \"\(String(decoding: part, as: UTF8.self))\" is malformed.")
            }
            let name = part[..<equals]
            let value = String(decoding: part[(equals + 1)...], as: UTF8.self)
            if name.elementsEqual("Credential".utf8) {
                credential = value
            } else if name.elementsEqual("SignedHeaders".utf8) {
                signedHeaders = value
            } else if name.elementsEqual("Signature".utf8) {
                signature = value
            } else {
                throw malformed("the authorization component \"\(String(decoding: part, as: UTF8.self))\" is malformed.")
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

    static func parseCredential(_ credential: String, error: @autoclosure () -> S3Error) throws -> (accessKeyID: String, date: String, region: String, service: String) {
        let parts = credential.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 5, !parts[0].isEmpty, parts[4].elementsEqual("aws4_request".utf8), parts[1].count == 8,
              parts[1].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), !parts[2].isEmpty, !parts[3].isEmpty
        else { throw error() }
        return (String(Substring(parts[0])), String(Substring(parts[1])), String(Substring(parts[2])), String(Substring(parts[3])))
    }

    static func parseSignedHeaders(_ value: String, error: @autoclosure () -> S3Error) throws -> [String] {
        let names = value.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        // Names must be lower-case: no ASCII capital letters (S3 compares them byte for byte).
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && !$0.contains(where: { (65...90).contains($0) }) }) else { throw error() }
        return names.map { String(Substring($0)) }
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
        let seconds = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return S3Timestamp(millisecondsSinceEpoch: seconds * 1000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

