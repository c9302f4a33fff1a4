import StowageCore
import StowagePolicy
import Testing

/// Parsing and validation of bucket policies, as PutBucketPolicy does it.
@Suite struct BucketPolicyParsingTests {
    func parse(_ json: String, bucket: String = "photos") throws -> BucketPolicy {
        try BucketPolicy(json: Array(json.utf8), bucket: bucket)
    }

    func reason(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch let error as S3Error {
            #expect(error.code == .malformedPolicy)
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func acceptsTheUsualShapes() throws {
        let policy = try parse("""
            {"Version":"2012-10-17","Id":"p","Statement":[
              {"Sid":"read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"},
              {"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111111111111:user/alice","222222222222"]},
               "NotAction":["s3:Get*","s3:List*"],"NotResource":"arn:aws:s3:::photos/public/*",
               "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"Bool":{"aws:SecureTransport":false}}}]}
            """)
        #expect(policy.statements.count == 2)
        #expect(policy.statements[1].conditions.count == 2)
        #expect(policy.isPublic)
    }

    @Test func singleStatementObjectIsAccepted() throws {
        let policy = try parse(#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos"}}"#)
        #expect(policy.statements.first?.principal == .everyone)
    }

    @Test func refusesWhatS3Refuses() {
        #expect(reason("not json") != nil)
        #expect(reason(#"{"Version":"2012-10-17"}"#) != nil)
        #expect(reason(#"{"Statement":[]}"#) != nil)
        #expect(reason(#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#) != nil)
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:FlyObject","Resource":"arn:aws:s3:::photos/*"}]}"#) == "Policy has invalid action")
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#) == "Policy has invalid resource")
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos"}]}"#) == "Action does not apply to any resource(s) in statement")
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEqualsFoo":{"s3:prefix":"a"}}}]}"#)?.hasPrefix("Invalid Condition type") == true)
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:nonsense":"a"}}}]}"#) != nil)
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1/8"}}}]}"#) != nil)
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"someone","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#) != nil)
        #expect(reason(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Extra":1}]}"#) != nil)
        #expect(reason("{" + String(repeating: " ", count: 21 * 1024) + "}") == "Policies must be less than 20 KB")
    }
}

/// IAM evaluation: explicit Deny wins, then Allow, else no opinion.
@Suite struct PolicyEvaluationTests {
    let alice = S3Identity.forCredential(accessKeyID: "AKIAALICE", name: "alice", accountID: "111111111111")
    let bob = S3Identity.forCredential(accessKeyID: "AKIABOB", name: "bob", accountID: "222222222222")

    func policy(_ statements: String) throws -> BucketPolicy {
        try BucketPolicy(json: Array(#"{"Version":"2012-10-17","Statement":[\#(statements)]}"#.utf8), bucket: "photos")
    }

    func ask(_ policy: BucketPolicy, _ identity: S3Identity, _ action: String, _ resource: String, _ values: [String: [String]] = [:]) -> PolicyDecision {
        policy.evaluate(PolicyRequest(identity: identity, action: action, resource: resource, conditionValues: values))
    }

    @Test func denyOverridesAllow() throws {
        let p = try policy("""
            {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::photos/*"},
            {"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/private/*"}
            """)
        #expect(ask(p, .anonymous, "s3:GetObject", "arn:aws:s3:::photos/cat.jpg") == .allow)
        #expect(ask(p, .anonymous, "s3:GetObject", "arn:aws:s3:::photos/private/cat.jpg") == .explicitDeny)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/private/cat.jpg") == .explicitDeny)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos") == .noMatch)
    }

    @Test func principalsByARNAndAccount() throws {
        let byARN = try policy(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:user/bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}"#)
        #expect(ask(byARN, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .allow)
        #expect(ask(byARN, alice, "s3:GetObject", "arn:aws:s3:::photos/a") == .noMatch)
        #expect(ask(byARN, .anonymous, "s3:GetObject", "arn:aws:s3:::photos/a") == .noMatch)
        let byAccount = try policy(#"{"Effect":"Allow","Principal":{"AWS":["222222222222"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}"#)
        #expect(ask(byAccount, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .allow)
        let byRoot = try policy(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}"#)
        #expect(ask(byRoot, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .allow)
        #expect(ask(byRoot, alice, "s3:GetObject", "arn:aws:s3:::photos/a") == .noMatch)
    }

    @Test func actionsAreCaseInsensitiveWildcards() throws {
        let p = try policy(#"{"Effect":"Allow","Principal":"*","Action":"S3:get*","Resource":"arn:aws:s3:::photos/*"}"#)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .allow)
        #expect(ask(p, bob, "s3:PutObject", "arn:aws:s3:::photos/a") == .noMatch)
        let q = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:?etObject","Resource":"arn:aws:s3:::photos/*"}"#)
        #expect(ask(q, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .allow)
    }

    @Test func resourcesAreCaseSensitive() throws {
        let p = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/Public/*"}"#)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/Public/a") == .allow)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/public/a") == .noMatch)
    }

    @Test func notActionAndNotResource() throws {
        let p = try policy(#"{"Effect":"Allow","Principal":"*","NotAction":"s3:DeleteObject","NotResource":"arn:aws:s3:::photos/secret/*"}"#)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .allow)
        #expect(ask(p, bob, "s3:DeleteObject", "arn:aws:s3:::photos/a") == .noMatch)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/secret/a") == .noMatch)
    }

    @Test func notPrincipalMatchesEveryoneElse() throws {
        let p = try policy(#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}"#)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a") == .explicitDeny)
        #expect(ask(p, alice, "s3:GetObject", "arn:aws:s3:::photos/a") == .noMatch)
    }

    @Test func stringConditions() throws {
        let p = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":["public/*",""]},"StringNotEquals":{"s3:delimiter":"|"}}}"#)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": ["public/2024/"]]) == .allow)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": [""]]) == .allow)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": ["private/"]]) == .noMatch)
        // A negated operator holds when the key is absent; a positive one fails.
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": ["public/"], "s3:delimiter": ["|"]]) == .noMatch)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", [:]) == .noMatch)
    }

    @Test func ipAddressConditions() throws {
        let p = try policy(#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::photos/*","Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.0/8","::1/128"]}}}"#)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:sourceip": ["127.0.0.1"]]) == .noMatch)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:sourceip": ["::1"]]) == .noMatch)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:sourceip": ["::ffff:127.0.0.9"]]) == .noMatch)
        #expect(ask(p, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:sourceip": ["192.168.1.4"]]) == .explicitDeny)
        let allow = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"192.168.0.0/16"}}}"#)
        #expect(ask(allow, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:sourceip": ["192.168.200.1"]]) == .allow)
        #expect(ask(allow, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:sourceip": ["192.169.0.1"]]) == .noMatch)
    }

    @Test func boolNumericDateNullAndIfExists() throws {
        let secure = try policy(#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::photos/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#)
        #expect(ask(secure, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:securetransport": ["false"]]) == .explicitDeny)
        #expect(ask(secure, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:securetransport": ["true"]]) == .noMatch)
        let maxKeys = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}"#)
        #expect(ask(maxKeys, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:max-keys": ["10"]]) == .allow)
        #expect(ask(maxKeys, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:max-keys": ["11"]]) == .noMatch)
        #expect(ask(maxKeys, bob, "s3:ListBucket", "arn:aws:s3:::photos", [:]) == .noMatch)
        let ifExists = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"NumericLessThanEqualsIfExists":{"s3:max-keys":"10"}}}"#)
        #expect(ask(ifExists, bob, "s3:ListBucket", "arn:aws:s3:::photos", [:]) == .allow)
        let date = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}"#)
        #expect(ask(date, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:currenttime": ["2026-11-25T10:00:00Z"]]) == .allow)
        #expect(ask(date, bob, "s3:GetObject", "arn:aws:s3:::photos/a", ["aws:currenttime": ["2031-01-01T00:00:00Z"]]) == .noMatch)
        let null = try policy(#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*","Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}"#)
        #expect(ask(null, bob, "s3:PutObject", "arn:aws:s3:::photos/a", [:]) == .explicitDeny)
        #expect(ask(null, bob, "s3:PutObject", "arn:aws:s3:::photos/a", ["s3:x-amz-server-side-encryption": ["AES256"]]) == .noMatch)
    }

    @Test func setQualifiers() throws {
        let any = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}}"#)
        #expect(ask(any, bob, "s3:GetObject", "arn:aws:s3:::photos/x", ["aws:tagkeys": ["z", "b"]]) == .allow)
        #expect(ask(any, bob, "s3:GetObject", "arn:aws:s3:::photos/x", [:]) == .noMatch)
        let all = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}"#)
        #expect(ask(all, bob, "s3:GetObject", "arn:aws:s3:::photos/x", ["aws:tagkeys": ["a", "b"]]) == .allow)
        #expect(ask(all, bob, "s3:GetObject", "arn:aws:s3:::photos/x", ["aws:tagkeys": ["a", "c"]]) == .noMatch)
        #expect(ask(all, bob, "s3:GetObject", "arn:aws:s3:::photos/x", [:]) == .allow)
    }

    @Test func policyVariablesInResourcesAndConditions() throws {
        let p = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}}"#)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": ["home/bob/x"], "aws:username": ["bob"]]) == .allow)
        #expect(ask(p, bob, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": ["home/alice/x"], "aws:username": ["bob"]]) == .noMatch)
        // No value for the variable: the pattern matches nothing.
        #expect(ask(p, .anonymous, "s3:ListBucket", "arn:aws:s3:::photos", ["s3:prefix": ["home//x"]]) == .noMatch)
        let r = try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/${aws:username}/${*}"}"#)
        #expect(ask(r, bob, "s3:GetObject", "arn:aws:s3:::photos/bob/*", ["aws:username": ["bob"]]) == .allow)
        #expect(ask(r, bob, "s3:GetObject", "arn:aws:s3:::photos/bob/x", ["aws:username": ["bob"]]) == .noMatch)
        // A value's own wildcard characters are literal.
        #expect(ask(r, bob, "s3:GetObject", "arn:aws:s3:::photos/bob/*", ["aws:username": ["b*"]]) == .noMatch)
        // The 2008 language has no variables.
        let old = try BucketPolicy(json: Array(#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/${aws:username}/*"}]}"#.utf8), bucket: "photos")
        #expect(ask(old, bob, "s3:GetObject", "arn:aws:s3:::photos/bob/x", ["aws:username": ["bob"]]) == .noMatch)
        #expect(ask(old, bob, "s3:GetObject", "arn:aws:s3:::photos/${aws:username}/x", ["aws:username": ["bob"]]) == .allow)
    }

    @Test func publicStatus() throws {
        #expect(try policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}"#).isPublic)
        #expect(try !policy(#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#).isPublic)
        #expect(try !policy(#"{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}"#).isPublic)
        #expect(try !policy(#"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}"#).isPublic)
    }
}
