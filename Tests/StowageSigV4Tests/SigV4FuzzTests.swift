import HTTPTypes
import StowageCore
import StowageSigV4
import StowageBackendConformance
import Testing

/// Bounded randomized fuzzing of SigV4 parsing and verification: mutated Authorization
/// headers and presigned queries must verify, or fail with an S3 error; never crash or hang.
@Suite struct SigV4FuzzTests {
    static let header = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    static let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    static let fragments = [",", "=", "/", ";", " ", "%", "%2F", "&", "Credential=", "SignedHeaders=", "Signature=", "\u{00e9}", "X-Amz-Expires=-1", "aws4_request"]

    let verifier = SigV4Verifier(
        credentials: StaticCredentials([.init(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]),
        region: "us-east-1"
    )

    func mutate(_ text: String, _ rng: inout SeededRandom) -> String {
        var chars = Array(text)
        for _ in 0..<Int.random(in: 1...5, using: &rng) {
            let at = Int.random(in: 0...chars.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where at < chars.count: chars.remove(at: at)
            case 1: chars.insert(contentsOf: Self.fragments.randomElement(using: &rng)!, at: at)
            default: if at < chars.count { chars[at] = Character(UnicodeScalar(UInt8.random(in: 33...126, using: &rng))) }
            }
        }
        return String(chars)
    }

    @Test func mutatedCredentialsNeverCrash() {
        var rng = SeededRandom(seed: 0x51A4_0001)
        let now = S3Timestamp(iso8601: "20130524T000000Z")!
        for round in 0..<3000 {
            var fields = HTTPFields()
            fields[HTTPField.Name("x-amz-date")!] = "20130524T000000Z"
            fields[HTTPField.Name("x-amz-content-sha256")!] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            fields[HTTPField.Name("range")!] = "bytes=0-9"
            let target: String
            if round % 2 == 0 {
                fields[.authorization] = mutate(Self.header, &rng)
                target = "/test.txt"
            } else {
                target = "/test.txt?" + mutate(Self.query, &rng)
            }
            let request = S3Request(method: .get, target: target, authority: "examplebucket.s3.amazonaws.com", headers: fields)
            do {
                _ = try verifier.verify(request, now: now)
            } catch is S3Error {
            } catch {
                Issue.record("non-S3 error \(error) for \(target) \(fields[.authorization] ?? "")")
            }
        }
    }
}
