/// IAM's wildcard matching: `*` matches any run of characters (including none and `/`), `?`
/// exactly one. Actions compare case-insensitively, resources and condition values exactly.
enum Wildcard {
    /// Private-use scalars standing for a literal `*` and `?` in a pattern (from policy
    /// variables such as `${*}`); they match only that character.
    static let literalStar: Unicode.Scalar = "\u{E000}"
    static let literalQuestionMark: Unicode.Scalar = "\u{E001}"

    static func matches(_ pattern: String, _ value: String, caseInsensitive: Bool = false) -> Bool {
        let p = Array((caseInsensitive ? pattern.lowercased() : pattern).unicodeScalars)
        let v = Array((caseInsensitive ? value.lowercased() : value).unicodeScalars)
        // Iterative matcher with backtracking to the last star: linear in practice, no recursion.
        var pi = 0, vi = 0
        var star = -1, mark = 0
        while vi < v.count {
            if pi < p.count, p[pi] == "?" || p[pi] == v[vi] || (p[pi] == literalStar && v[vi] == "*") || (p[pi] == literalQuestionMark && v[vi] == "?") {
                pi += 1
                vi += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = vi
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                vi = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
