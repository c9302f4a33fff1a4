import StowageCore
import Testing

@Suite("POST policy documents")
struct PostPolicyTests {
    static func policy(_ json: String) throws -> PostPolicy {
        try PostPolicy(base64: Base64.encode(Array(json.utf8)))
    }

    static let now = S3Timestamp(iso8601: "2026-12-03T12:00:00Z")!
    static let example = """
        {"expiration": "2026-12-04T00:00:00.000Z", "conditions": [
          {"bucket": "photos"}, ["starts-with", "$key", "user/eric/"], {"acl": "public-read"},
          ["eq", "$x-amz-meta-tag", "blue"], ["starts-with", "$Content-Type", "image/"],
          ["content-length-range", 1048576, "10485760"], {"x-amz-date": "20261203T000000Z"}
        ]}
        """
    static let fields = ["bucket": "photos", "key": "user/eric/cat.jpg", "acl": "public-read", "x-amz-meta-tag": "blue",
                         "content-type": "image/jpeg", "x-amz-date": "20261203T000000Z", "policy": "...", "x-amz-signature": "..."]

    @Test func parsesEveryConditionForm() throws {
        let policy = try Self.policy(Self.example)
        #expect(policy.expiration == S3Timestamp(iso8601: "2026-12-04T00:00:00Z"))
        #expect(policy.conditions.contains(.equals(field: "bucket", value: "photos")))
        #expect(policy.conditions.contains(.startsWith(field: "content-type", prefix: "image/")))
        #expect(policy.sizeRange == 1_048_576...10_485_760)
        try policy.check(fields: Self.fields, now: Self.now)
    }

    @Test func failedConditionsAndExtraFieldsAreRefused() throws {
        let policy = try Self.policy(Self.example)
        func refusal(_ change: (inout [String: String]) -> Void) -> String? {
            var fields = Self.fields
            change(&fields)
            do {
                try policy.check(fields: fields, now: Self.now)
                return nil
            } catch let error as S3Error {
                #expect(error.code == .accessDenied)
                return error.message
            } catch { return "\(error)" }
        }
        #expect(refusal { $0["key"] = "user/other/cat.jpg" } == #"Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/eric/"]"#)
        #expect(refusal { $0["x-amz-meta-tag"] = "Blue" } == #"Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-tag", "blue"]"#)
        #expect(refusal { $0["x-amz-meta-tag"] = nil } != nil, "a condition on an absent field fails")
        #expect(refusal { $0["x-amz-meta-extra"] = "1" } == "Invalid according to Policy: Extra input fields: x-amz-meta-extra")
        #expect(refusal { $0["x-ignore-this"] = "1" } == nil, "x-ignore-* fields are exempt")
        #expect(refusal { $0["content-type"] = "image/png, image/gif" } == nil, "every type of a list must match")
        #expect(refusal { $0["content-type"] = "image/png, text/plain" } != nil)
        #expect(throws: S3Error.self) { try policy.check(fields: Self.fields, now: S3Timestamp(iso8601: "2026-12-04T00:00:01Z")!) }
    }

    @Test func malformedPoliciesAreInvalidPolicyDocument() {
        for json in [
            "not json", "[]", #"{"conditions": []}"#, #"{"expiration": "2026-12-04T00:00:00Z"}"#,
            #"{"expiration": "tomorrow", "conditions": []}"#,
            #"{"expiration": "2026-12-04T00:00:00Z", "conditions": [["like", "$key", "a"]]}"#,
            #"{"expiration": "2026-12-04T00:00:00Z", "conditions": [["eq", "key", "a"]]}"#,
            #"{"expiration": "2026-12-04T00:00:00Z", "conditions": [["content-length-range", 10, 5]]}"#,
        ] {
            #expect(throws: S3Error.self, "\(json)") { try Self.policy(json) }
        }
        #expect(throws: S3Error.self) { try PostPolicy(base64: "%%%") }
    }
}
