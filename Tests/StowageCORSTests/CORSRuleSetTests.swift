import StowageCORS
import StowageCore
import Testing

@Suite struct CORSRuleSetTests {
    let rules = CORSRuleSet(CORSConfiguration(rules: [
        .init(allowedOrigins: ["http://*.example.com"], allowedMethods: ["GET", "PUT"], allowedHeaders: ["content-type", "x-amz-*"], exposeHeaders: ["ETag"], maxAgeSeconds: 600),
        .init(allowedOrigins: ["*"], allowedMethods: ["GET"]),
    ]))

    @Test func wildcardOriginMatchesSubdomainsOnly() throws {
        let match = try #require(rules.match(origin: "http://a.example.com", method: "PUT", requestHeaders: ["content-type", "x-amz-date"]))
        #expect(match.allowOrigin == "http://a.example.com")
        #expect(match.allowCredentials)
        #expect(match.rule.maxAgeSeconds == 600)
        #expect(rules.match(origin: "http://example.org", method: "PUT") == nil)
        #expect(rules.match(origin: "https://a.example.com", method: "PUT") == nil)
    }

    @Test func starRuleAnswersStarWithoutCredentials() throws {
        let match = try #require(rules.match(origin: "http://example.org", method: "GET"))
        #expect(match.allowOrigin == "*")
        #expect(!match.allowCredentials)
    }

    @Test func everyRequestedHeaderMustBeAllowed() {
        #expect(rules.match(origin: "http://a.example.com", method: "PUT", requestHeaders: ["authorization"]) == nil)
        #expect(rules.match(origin: "http://a.example.com", method: "PUT", requestHeaders: ["X-Amz-Meta-Color"]) != nil)
    }

    @Test func methodMustBeAllowed() {
        #expect(rules.match(origin: "http://a.example.com", method: "DELETE") == nil)
    }

    @Test func globalConfigurationWithCredentialsEchoesOrigin() throws {
        var global = StowageConfiguration.CORS()
        global.enabled = true
        global.allowCredentials = true
        let match = try #require(CORSRuleSet(global).match(origin: "http://app.test", method: "GET"))
        #expect(match.allowOrigin == "http://app.test")
        #expect(match.allowCredentials)
        global.allowCredentials = false
        #expect(CORSRuleSet(global).match(origin: "http://app.test", method: "GET")?.allowOrigin == "*")
    }

    @Test func requestedHeadersAreSplitAndLowercased() {
        #expect(CORSRuleSet.requestedHeaders("Content-Type, X-Amz-Date ,,") == ["content-type", "x-amz-date"])
        #expect(CORSRuleSet.requestedHeaders(nil) == [])
    }

    @Test func configurationValidationLimitsRules() {
        let many = CORSConfiguration(rules: Array(repeating: .init(allowedOrigins: ["*"], allowedMethods: ["GET"]), count: 101))
        #expect(throws: S3Error.self) { try many.validate() }
        let badMethod = CORSConfiguration(rules: [.init(allowedOrigins: ["*"], allowedMethods: ["PATCH"])])
        #expect(throws: S3Error.self) { try badMethod.validate() }
        let twoStars = CORSConfiguration(rules: [.init(allowedOrigins: ["http://*.*.com"], allowedMethods: ["GET"])])
        #expect(throws: S3Error.self) { try twoStars.validate() }
        #expect(throws: Never.self) { try CORSConfiguration(rules: [.init(allowedOrigins: ["*"], allowedMethods: ["GET"])]).validate() }
    }
}
