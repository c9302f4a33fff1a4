import ArgumentParser
@testable import StowageCLI
import Testing

/// The fast path must parse exactly what ArgumentParser parses, or decline.
@Suite struct ServeFastPathTests {
    @Test func knowsExactlyTheOptionsServeDeclares() throws {
        let help = Serve.helpMessage(columns: 10_000)
        var declared = Set<String>()
        for line in help.split(separator: "\n") {
            // Option lines look like "  --port <port>   Port to listen on..." or "  -h, --help ...".
            for word in line.split(separator: " ") where word.hasPrefix("--") && word.count > 2 {
                let name = word.dropFirst(2).prefix { $0.isLetter || $0 == "-" }
                if !name.isEmpty { declared.insert(String(name)) }
            }
        }
        declared.remove("help")
        #expect(declared == Set(ServeOptions.fastOptions.keys))
    }

    @Test(arguments: [
        [String](),
        ["serve"],
        ["--port", "0", "--address", "127.0.0.1", "--directory", "/tmp/x", "--silent"],
        ["serve", "--port=9000", "--address=::1", "--clean-slate", "--fsync"],
        ["--config", "c.json", "--region", "eu-west-1", "--log-level", "debug", "--shutdown-grace-period", "250"],
        ["--auth", "--access-key", "AKID", "--secret-key", "s3cr3t=", "--management"],
        ["--directory=/with spaces/and=equals", "--port", "+80"],
    ])
    func agreesWithArgumentParser(_ arguments: [String]) throws {
        let fast = try #require(ServeOptions(fastParsing: arguments))
        let parsed = try Serve.parse(arguments.first == "serve" ? Array(arguments.dropFirst()) : arguments)
        #expect(fast == parsed.options)
    }

    @Test(arguments: [
        ["--help"], ["-h"], ["serve", "--help"], ["version"], ["bench", "--endpoint", "http://x"],
        ["--port", "abc"], ["--port"], ["--port", "-1"], ["--port="], ["--silent=yes"],
        ["--port", "1", "--port", "2"], ["--bogus"], ["serve", "extra"], ["--"], ["-p", "1"],
        ["--generate-completion-script", "bash"], ["--version"],
    ])
    func declinesWhatItDoesNotRecognise(_ arguments: [String]) {
        #expect(ServeOptions(fastParsing: arguments) == nil)
    }
}
