import Foundation
public import HTTPTypes

/// What a browser upload's form asks for, before any byte of the file is stored: the key (with
/// `${filename}` expanded), the object's headers and metadata as the equivalent PUT would carry
/// them, the policy and the field values its conditions are checked against, and how to answer.
///
/// ```swift
/// let upload = try PostObjectUpload(form: form, bucket: "photos")
/// try upload.policy?.check(fields: upload.conditionFields, now: .now)
/// ```
public struct PostObjectUpload: Sendable {
    public var key: String
    /// The form's headers as a PUT would send them (`Content-Type`, `x-amz-meta-*`,
    /// `x-amz-acl` from `acl`, `x-amz-checksum-*`, `Content-MD5`, ...).
    public var headers: HTTPFields
    /// Field values by lowercased name, `${filename}` expanded, plus `bucket`.
    public var conditionFields: [String: String]
    public var policy: PostPolicy?
    /// `success_action_redirect` (or the older `redirect`) when it is an absolute http(s) URL.
    public var redirect: String?
    /// `success_action_status`: 200, 201 or (the default, and for anything else) 204.
    public var successStatus: Int

    /// Form fields that become the object's headers under the same name.
    static let headerFields: Set<String> = [
        "content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires",
        "content-md5", "x-amz-website-redirect-location", "x-amz-storage-class",
    ]

    public init(form: PostObjectForm, bucket: String) throws {
        var fields: [String: String] = [:]
        for name in form.fieldNames {
            // "${filename}" is recognised by all form fields.
            fields[name] = form.value(name)!.replacingOccurrences(of: "${filename}", with: form.fileName)
        }
        guard let key = fields["key"], !key.isEmpty else {
            throw S3Error.invalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
                                          name: "key", value: "")
        }
        self.key = key
        fields["bucket"] = bucket
        conditionFields = fields

        // Exactly the field the signature covers: not `${filename}`-expanded, not trimmed.
        if let encoded = form.value("policy") {
            policy = try PostPolicy(base64: encoded)
        }
        var headers = HTTPFields()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            let headerName: String
            if name == "acl" {
                headerName = "x-amz-acl"
            } else if Self.headerFields.contains(name) || name.hasPrefix("x-amz-meta-") || name.hasPrefix("x-amz-checksum-") {
                headerName = name
            } else {
                continue
            }
            guard let fieldName = HTTPField.Name(headerName) else {
                throw S3Error.invalidArgument("The form field name is not a valid header name.", name: name, value: value)
            }
            headers.append(HTTPField(name: fieldName, value: value))
        }
        self.headers = headers
        redirect = (fields["success_action_redirect"] ?? fields["redirect"]).flatMap(Self.absoluteHTTPURL)
        switch fields["success_action_status"] {
        case "200": successStatus = 200
        case "201": successStatus = 201
        default: successStatus = 204
        }
    }

    /// `url` if it is an absolute `http` or `https` URL with a host; S3 ignores any other value.
    static func absoluteHTTPURL(_ url: String) -> String? {
        let lowered = url.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) && url.utf8.count > scheme.utf8.count {
            let rest = url.dropFirst(scheme.count)
            guard let first = rest.first, first != "/", first != "?", first != "#" else { return nil }
            return url
        }
        return nil
    }

    /// The redirect after a stored upload: the URL with `bucket`, `key` and `etag` appended.
    public func redirectLocation(bucket: String, etag: String) -> String? {
        guard let redirect else { return nil }
        let query = [("bucket", bucket), ("key", key), ("etag", etag)]
            .map { "\($0.0)=\(PercentEncoding.encodeUnreserved($0.1))" }
            .joined(separator: "&")
        let fragment = redirect.firstIndex(of: "#")
        let base = fragment.map { String(redirect[..<$0]) } ?? redirect
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + query + (fragment.map { String(redirect[$0...]) } ?? "")
    }
}
