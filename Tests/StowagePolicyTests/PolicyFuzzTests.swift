import StowageCore
import StowagePolicy
import StowageBackendConformance
import Testing

/// Bounded randomized fuzzing of the policy parser: mutated and generated documents must be
/// accepted or refused with `MalformedPolicy`, never crash or hang. Seeded, so a failure
/// reproduces.
@Suite struct PolicyFuzzTests {
    static let seedDocument = #"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject","s3:List*"],"Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"],"Condition":{"StringLike":{"s3:prefix":["a*"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"NumericLessThan":{"s3:max-keys":5}}}]}"#
    static let tokens = ["{", "}", "[", "]", ":", ",", "\"", "*", "?", "true", "null", "1e400", "-0", "\\u0000", "\"s3:*\"", "\"Deny\"",
                         "\"Condition\"", "\"NotAction\"", "\"arn:aws:s3:::*\"", "\"ForAllValues:StringLike\"", "\"::/0\""]

    @Test func mutatedDocumentsNeverCrash() {
        var rng = SeededRandom(seed: 0x5EED_0001)
        let base = Array(Self.seedDocument.utf8)
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !bytes.isEmpty: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
                case 1: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                case 2 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 32...126, using: &rng)
                default:
                    let token = Array(Self.tokens.randomElement(using: &rng)!.utf8)
                    bytes.insert(contentsOf: token, at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            do {
                let policy = try BucketPolicy(json: bytes, bucket: "photos")
                accepted += 1
                // Whatever parses must also evaluate.
                _ = policy.evaluate(PolicyRequest(identity: .anonymous, action: "s3:GetObject", resource: "arn:aws:s3:::photos/a",
                                                  conditionValues: ["s3:prefix": ["a"], "aws:sourceip": ["10.1.2.3"], "s3:max-keys": ["2"]]))
                _ = policy.isPublic
            } catch let error as S3Error {
                #expect(error.code == .malformedPolicy)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        #expect(accepted > 0, "mutation never produced a valid policy; the fuzzer is not exercising evaluation")
    }

    @Test func deeplyNestedDocumentIsRefusedNotOverflowed() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: S3Error.self) { try BucketPolicy(json: Array(#"{"Statement":\#(deep)}"#.utf8), bucket: "photos") }
    }
}
