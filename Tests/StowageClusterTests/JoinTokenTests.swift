import StowageCore
import Testing
@testable import StowageCluster

@Suite struct JoinTokenTests {
    let fingerprint = String(repeating: "ab", count: 32)

    @Test func aTokenRoundTripsAndAdmitsItsSecretOnlyUntilItExpires() throws {
        let (token, issued) = JoinToken.make(clusterID: "c-7f3a", caFingerprint: fingerprint, ttlMs: 60_000, nowMs: 1_000)
        let text = token.encoded
        #expect(text.hasPrefix("stowage-join-v1.c-7f3a.\(fingerprint)."))
        let parsed = try JoinToken(parsing: text + "\n")
        #expect(parsed == token)
        #expect(issued.admits(parsed.secret, nowMs: 30_000))
        #expect(!issued.admits(parsed.secret, nowMs: 61_000), "expired")
        var wrong = parsed.secret
        wrong[0] ^= 1
        #expect(!issued.admits(wrong, nowMs: 30_000))
        // The stored record holds no secret.
        #expect(issued.secretHash != token.secret)
        #expect(JoinToken.make(clusterID: "c", caFingerprint: fingerprint, ttlMs: .max, nowMs: 5).1.expiresMs == .max)
    }

    @Test(arguments: [
        "", "stowage-join-v2.c.\(String(repeating: "ab", count: 32)).\(String(repeating: "00", count: 32))",
        "stowage-join-v1..\(String(repeating: "ab", count: 32)).\(String(repeating: "00", count: 32))",
        "stowage-join-v1.c.\(String(repeating: "AB", count: 32)).\(String(repeating: "00", count: 32))",
        "stowage-join-v1.c.abcd.\(String(repeating: "00", count: 32))",
        "stowage-join-v1.c.\(String(repeating: "ab", count: 32)).zz",
        "stowage-join-v1.c.\(String(repeating: "ab", count: 32)).\(String(repeating: "00", count: 16))",
        "stowage-join-v1.c.d.\(String(repeating: "ab", count: 32)).\(String(repeating: "00", count: 32))",
    ])
    func malformedTokensAreRefusedWithAReason(_ text: String) {
        #expect(throws: JoinToken.Malformed.self) { try JoinToken(parsing: text) }
    }
}
