/// IAM's wildcard matching: `*` matches any run of characters (including none and `/`), `?`
/// exactly one. Actions compare case-insensitively, resources and condition values exactly.
///
/// The matcher runs the pattern as a set of states over the value, one step per character, with
/// the states as bits (64 pattern positions per machine word): its work is linear in the
/// value's length for a given pattern, so a caller cannot make a policy's `*a*a*a…b` cost
/// length × pattern steps with a long key, as backtracking matchers can be made to.
enum Wildcard {
    /// Private-use scalars standing for a literal `*` and `?` in a pattern (from policy
    /// variables such as `${*}`); they match only that character.
    static let literalStar: Unicode.Scalar = "\u{E000}"
    static let literalQuestionMark: Unicode.Scalar = "\u{E001}"

    static func matches(_ pattern: String, _ value: String, caseInsensitive: Bool = false) -> Bool {
        let pattern = caseInsensitive ? pattern.lowercased() : pattern
        let value = caseInsensitive ? value.lowercased() : value
        var steps = 0
        return Matcher(pattern).matches(value, steps: &steps)
    }

    /// A compiled pattern. State `i` means "the first `i` pattern elements matched".
    struct Matcher {
        enum Element: Equatable { case star, any, scalar(Unicode.Scalar) }
        let elements: [Element]
        let words: Int
        /// States that sit before a `*` (they consume any character and stay).
        let stars: [UInt64]
        /// States that sit before a `?`.
        let anys: [UInt64]
        /// States that sit before each literal scalar.
        let literals: [Unicode.Scalar: [UInt64]]

        init(_ pattern: String) {
            var elements: [Element] = []
            for scalar in pattern.unicodeScalars {
                switch scalar {
                case "*": if elements.last != .star { elements.append(.star) }   // `**` is `*`
                case "?": elements.append(.any)
                case Wildcard.literalStar: elements.append(.scalar("*"))
                case Wildcard.literalQuestionMark: elements.append(.scalar("?"))
                default: elements.append(.scalar(scalar))
                }
            }
            self.elements = elements
            let words = (elements.count + 1 + 63) / 64
            self.words = words
            var stars = [UInt64](repeating: 0, count: words)
            var anys = [UInt64](repeating: 0, count: words)
            var literals: [Unicode.Scalar: [UInt64]] = [:]
            for (index, element) in elements.enumerated() {
                let (word, bit) = (index / 64, UInt64(1) << UInt64(index % 64))
                switch element {
                case .star: stars[word] |= bit
                case .any: anys[word] |= bit
                case .scalar(let scalar): literals[scalar, default: [UInt64](repeating: 0, count: words)][word] |= bit
                }
            }
            self.stars = stars
            self.anys = anys
            self.literals = literals
        }

        /// Whether the whole of `value` matches; `steps` counts word operations.
        func matches(_ value: String, steps: inout Int) -> Bool {
            guard let state = run(value, steps: &steps) else { return false }
            let accept = elements.count
            return state[accept / 64] & (UInt64(1) << UInt64(accept % 64)) != 0
        }

        /// Whether some value that starts with `prefix` matches: after `prefix` a state is still
        /// alive (any live state reaches the end by supplying the elements it still needs).
        func matchesSomeValue(startingWith prefix: String) -> Bool {
            var steps = 0
            return run(prefix, steps: &steps) != nil
        }

        /// The states after `value`, or `nil` once none is left.
        private func run(_ value: String, steps: inout Int) -> [UInt64]? {
            var state = [UInt64](repeating: 0, count: words)
            state[0] = 1
            closeOverStars(&state)
            var next = [UInt64](repeating: 0, count: words)
            for scalar in value.unicodeScalars {
                let literal = literals[scalar]
                var carry: UInt64 = 0
                var any: UInt64 = 0
                for word in 0..<words {
                    // States that consume this character move one element on; a `*` also stays.
                    let advancing = state[word] & (anys[word] | (literal?[word] ?? 0))
                    next[word] = (advancing << 1) | carry | (state[word] & stars[word])
                    carry = advancing >> 63
                    any |= next[word]
                    steps += 1
                }
                if any == 0 { return nil }
                swap(&state, &next)
                closeOverStars(&state)
            }
            return state
        }

        /// A `*` also matches nothing: a state before a `*` is also the state after it.
        /// (Consecutive stars were merged, so one pass suffices.)
        private func closeOverStars(_ state: inout [UInt64]) {
            var carry: UInt64 = 0
            for word in 0..<words {
                let skipping = state[word] & stars[word]
                state[word] |= (skipping << 1) | carry
                carry = skipping >> 63
            }
        }
    }
}
