import StowageBackendConformance
import StowageLocalFiles
import Testing

@Suite("Key → path mapping")
struct KeyPathMapperTests {
    @Test("readable keys keep their names; directories get a % suffix", arguments: [
        ("photo.jpg", "photo.jpg"),
        ("photos/2024/cat.jpg", "photos%/2024%/cat.jpg"),
        ("a/b/", "a%/b%/%e"),
        ("/a", "%e%/a"),
        ("a//b", "a%/%e%/b"),
        ("..", "%2E%2E"),
        ("../../etc/passwd", "%2E%2E%/%2E%2E%/etc%/passwd"),
        ("./x", "%2E%/x"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("tab\tkey", "tab%09key"),
        ("del\u{7F}", "del%7F"),
        ("sp ace+plus", "sp ace+plus"),
        ("日本/語", "日本%/語"),
        ("...", "..."),
    ])
    func mapping(key: String, expected: String) {
        #expect(KeyPathMapper.relativePath(for: key) == expected)
    }

    @Test("a and a/b and a/b/ coexist")
    func prefixesCoexist() {
        let paths = ["a", "a/b", "a/b/", "a/", "a%", "a%/b"].map(KeyPathMapper.relativePath(for:))
        #expect(Set(paths).count == paths.count)
        // The file `a` is never a directory of another key's path.
        for path in paths {
            let directories = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            #expect(directories.allSatisfy { $0.hasSuffix("%") })
            #expect(!path.split(separator: "/", omittingEmptySubsequences: false).last!.hasSuffix("%"))
        }
    }

    @Test("hostile keys map to distinct, safe, bounded paths")
    func hostileKeys() {
        var keys = BackendConformanceSuite.hostileKeysForTesting
        // Generated near-collisions: every short string over a hostile alphabet.
        let alphabet = ["a", "/", ".", "%", "e", "x", "2", "E", "\u{01}", "h", " "]
        func extend(_ prefix: String, _ depth: Int) {
            keys.append(prefix)
            guard depth > 0 else { return }
            for piece in alphabet { extend(prefix + piece, depth - 1) }
        }
        for piece in alphabet { extend(piece, 3) }
        keys += [String(repeating: "x", count: 241), String(repeating: "x", count: 242), String(repeating: "%", count: 81), String(repeating: "%", count: 80)]

        var seen: [String: String] = [:]
        for key in Set(keys) where !key.isEmpty {
            let path = KeyPathMapper.relativePath(for: key)
            if let other = seen[path] { Issue.record("\(key.debugDescription) and \(other.debugDescription) both map to \(path)") }
            seen[path] = key
            #expect(!path.hasPrefix("/"))
            #expect(path.utf8.count <= 3200)
            for component in path.split(separator: "/", omittingEmptySubsequences: false) {
                #expect(!component.isEmpty, "empty component in \(path)")
                #expect(component != "." && component != "..", "traversal component in \(path)")
                #expect(component.utf8.count <= 255, "component too long in \(path)")
                #expect(!component.utf8.contains(0), "NUL in \(path)")
            }
        }
    }

    @Test("long components keep a readable prefix and a hash")
    func longComponents() {
        let long = String(repeating: "L", count: 300)
        let path = KeyPathMapper.relativePath(for: long)
        #expect(path.hasPrefix(String(repeating: "L", count: 200) + "%h"))
        #expect(path.utf8.count == 242)
        #expect(KeyPathMapper.relativePath(for: long + "M") != path)
    }

    @Test("keys too deep for a path are stored flat by hash")
    func flatFallback() {
        let path = KeyPathMapper.relativePath(for: String(repeating: "/", count: 1000))
        #expect(path.hasPrefix("%x%/"))
        #expect(path.utf8.count == 4 + 64)
    }

    @Test("parent directories are listed outermost first")
    func parents() {
        #expect(KeyPathMapper.parentDirectories(of: "a%/b%/c") == ["a%", "a%/b%"])
        #expect(KeyPathMapper.parentDirectories(of: "c").isEmpty)
    }
}
