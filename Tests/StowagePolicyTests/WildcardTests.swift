@testable import StowagePolicy
import Testing

@Suite("IAM wildcard matching")
struct WildcardTests {
    /// The obvious dynamic programme over (pattern, value) positions: slow, plainly right.
    static func reference(_ pattern: [Character], _ value: [Character]) -> Bool {
        var table = [[Bool]](repeating: [Bool](repeating: false, count: value.count + 1), count: pattern.count + 1)
        table[0][0] = true
        for i in 0..<pattern.count where pattern[i] == "*" { table[i + 1][0] = table[i][0] }
        for i in 0..<pattern.count {
            for j in 0..<value.count {
                switch pattern[i] {
                case "*": table[i + 1][j + 1] = table[i][j + 1] || table[i + 1][j]
                case "?": table[i + 1][j + 1] = table[i][j]
                default: table[i + 1][j + 1] = table[i][j] && pattern[i] == value[j]
                }
            }
        }
        return table[pattern.count][value.count]
    }

    @Test func knownCases() {
        #expect(Wildcard.matches("arn:aws:s3:::photos/*", "arn:aws:s3:::photos/2024/cat.jpg"))
        #expect(!Wildcard.matches("arn:aws:s3:::photos/*", "arn:aws:s3:::photosx/cat.jpg"))
        #expect(Wildcard.matches("a?c", "abc") && !Wildcard.matches("a?c", "ac"))
        #expect(Wildcard.matches("*", "") && Wildcard.matches("", "") && !Wildcard.matches("", "x"))
        #expect(Wildcard.matches("S3:Get*", "s3:GetObject", caseInsensitive: true))
        #expect(Wildcard.matches("a\u{E000}b", "a*b") && !Wildcard.matches("a\u{E000}b", "axb"))
        #expect(Wildcard.matches("a\u{E001}", "a?") && !Wildcard.matches("a\u{E001}", "ax"))
        #expect(Wildcard.matches("*日本*", "key/日本/x"))
    }

    @Test func agreesWithTheReferenceOnRandomPatterns() {
        var generator = SeededGenerator(seed: 0x5709_A6E)
        let alphabet: [Character] = ["a", "b", "/", "*", "?"]
        for _ in 0..<4000 {
            let pattern = (0..<Int.random(in: 0...70, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let value = (0..<Int.random(in: 0...90, using: &generator)).map { _ in ["a", "b", "/"].randomElement(using: &generator)! as Character }
            #expect(Wildcard.matches(String(pattern), String(value)) == Self.reference(pattern, value), "\(String(pattern)) vs \(String(value))")
        }
    }

    @Test func patternsThatDefeatBacktrackingAreDecidedExactly() {
        // `*a*a…*a*b` against `aaa…`, and a long literal run after a star: the inputs that make
        // backtracking matchers quadratic. (Linear work is by construction: one pass over the
        // value, a fixed number of word operations per character.)
        let stars = "arn:aws:s3:::bucket/" + String(repeating: "*a", count: 300) + "*b"
        #expect(!Wildcard.matches(stars, "arn:aws:s3:::bucket/" + String(repeating: "a", count: 1024)))
        #expect(Wildcard.matches(stars, "arn:aws:s3:::bucket/" + String(repeating: "a", count: 1024) + "b"))
        let run = "*" + String(repeating: "a", count: 500) + "b"
        #expect(!Wildcard.matches(run, String(repeating: "a", count: 1024)))
        #expect(Wildcard.matches(run, String(repeating: "a", count: 1024) + "b"))
    }

    @Test func someValueWithAPrefix() {
        let prefix = "arn:aws:s3:::alice-data/"
        #expect(Wildcard.Matcher("arn:aws:s3:::alice-*/shared/*").matchesSomeValue(startingWith: prefix))
        #expect(Wildcard.Matcher("arn:aws:s3:::alice-data/x").matchesSomeValue(startingWith: prefix))
        #expect(Wildcard.Matcher("*").matchesSomeValue(startingWith: prefix))
        #expect(!Wildcard.Matcher("arn:aws:s3:::bob-*/*").matchesSomeValue(startingWith: prefix))
        #expect(!Wildcard.Matcher("arn:aws:s3:::alice-data").matchesSomeValue(startingWith: prefix))
    }
}

/// SplitMix64: a tiny deterministic generator, so a failing case replays.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
