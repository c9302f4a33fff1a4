public import HTTPTypes
public import NIOCore

/// An HTTP request as the pipeline sees it.
///
/// The raw path and query are kept exactly as sent, because SigV4 signs them as sent; the
/// decoded query parameters are parsed once here.
///
/// ```swift
/// let request = S3Request(method: .get, target: "/photos?list-type=2&prefix=2024%2F")
/// request.query["prefix"]   // "2024/"
/// ```
public struct S3Request: Sendable {
    public var method: HTTPRequest.Method
    /// The path as sent, percent-encoded, without the query.
    public var rawPath: String
    /// The query as sent, without the `?`, or `nil` when there was none.
    public var rawQuery: String?
    /// The decoded query parameters, in order.
    public var query: QueryParameters
    public var headers: HTTPFields
    /// The body. Once the pipeline has verified it (``payload`` is set), this is the decoded,
    /// verified stream: errors surface before its end, so nothing built on it commits.
    public var body: S3Body
    /// What was verified about the body; `nil` until the pipeline has verified it.
    public var payload: RequestPayload?
    /// The `Host` header (or HTTP/2 `:authority`), which HTTP types keep apart from the fields.
    public var authority: String?

    public init(method: HTTPRequest.Method, target: String, authority: String? = nil, headers: HTTPFields = [:], body: S3Body = .empty) {
        self.method = method
        self.authority = authority
        if let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            self.rawPath = String(target[..<questionMark])
            let query = String(target[target.index(after: questionMark)...])
            self.rawQuery = query
            self.query = QueryParameters(raw: query)
        } else {
            self.rawPath = target
            self.rawQuery = nil
            self.query = QueryParameters()
        }
        self.headers = headers
        self.body = body
    }

    /// The verified payload's facts, or `InternalError` when the body was not verified (a
    /// request that did not come through an ``S3Pipeline``).
    public func verifiedPayload() throws -> RequestPayload {
        guard let payload else {
            throw S3Error(.internalError, message: "The request body was not verified by the pipeline.")
        }
        return payload
    }

    /// Reads a small request document (XML or JSON configuration) from the verified body;
    /// `MaxMessageLengthExceeded` past `limit`.
    public func collectDocument(upTo limit: Int) async throws -> ByteBuffer {
        _ = try verifiedPayload()
        return try await body.collect(upTo: limit, orThrow: S3Error(.maxMessageLengthExceeded))
    }

    /// The authority without a port.
    public var host: String? {
        guard var host = authority else { return nil }
        if host.hasPrefix("[") {
            // IPv6 literal: keep it whole.
            if let end = host.firstIndex(of: "]") { host = String(host[...end]) }
            return host
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        return host
    }
}

/// Decoded query parameters in their original order. Names are case-sensitive, as in S3.
public struct QueryParameters: Sendable, Sequence {
    public struct Parameter: Sendable, Equatable {
        public var name: String
        /// `nil` when the parameter had no `=` (S3 subresources such as `?uploads`).
        public var value: String?
    }

    public private(set) var parameters: [Parameter]

    public init() { parameters = [] }

    public init(_ parameters: [Parameter]) { self.parameters = parameters }

    /// Parses `a=b&c&d=%2F`. Percent-escapes are decoded and `+` means a space, as S3 reads
    /// query strings. A malformed escape is kept literally rather than failing the request.
    public init(raw: String) {
        var result: [Parameter] = []
        for piece in raw.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = piece.firstIndex(of: UInt8(ascii: "=")) {
                let name = PercentEncoding.decodeQueryComponent(piece[piece.startIndex..<equals])
                let value = PercentEncoding.decodeQueryComponent(piece[piece.index(after: equals)...])
                result.append(Parameter(name: name, value: value))
            } else {
                result.append(Parameter(name: PercentEncoding.decodeQueryComponent(piece[...]), value: nil))
            }
        }
        parameters = result
    }

    /// The first value of `name`; an empty string for a parameter present without a value.
    public subscript(name: String) -> String? {
        for parameter in parameters where parameter.name == name { return parameter.value ?? "" }
        return nil
    }

    public func contains(_ name: String) -> Bool {
        parameters.contains { $0.name == name }
    }

    public func makeIterator() -> IndexingIterator<[Parameter]> { parameters.makeIterator() }

    public var isEmpty: Bool { parameters.isEmpty }
}
