@testable import StowageCLI
import Testing

@Suite struct LineSplitterTests {
    let input = Array("{\"id\":1}\r\nsecond line\n\nlast without newline".utf8)
    let expected: [LineSplitter.Piece] = [.line("{\"id\":1}"), .line("second line"), .line(""), .line("last without newline")]

    @Test func splitsTheSameWhereverTheChunksBreak() {
        for cut in 0...input.count {
            var splitter = LineSplitter(limit: 100)
            let pieces = splitter.feed(input[..<cut]) + splitter.feed(input[cut...]) + splitter.finish()
            #expect(pieces == expected, "cut at \(cut)")
        }
        var splitter = LineSplitter(limit: 100)
        let bytewise = input.flatMap { splitter.feed([$0]) } + splitter.finish()
        #expect(bytewise == expected)
    }

    @Test func aLineOverTheLimitIsReportedOnceAndSkipped() {
        var splitter = LineSplitter(limit: 8)
        let long = Array(repeating: UInt8(ascii: "x"), count: 20)
        var pieces: [LineSplitter.Piece] = []
        for chunk in stride(from: 0, to: long.count, by: 3) { pieces += splitter.feed(long[chunk..<min(chunk + 3, long.count)]) }
        pieces += splitter.feed(Array("\nok\n12345678\n123456789".utf8))
        pieces += splitter.finish()
        // Exactly the limit is fine; one byte over is not, even in the unterminated last line.
        #expect(pieces == [.tooLong, .line("ok"), .line("12345678"), .tooLong])
    }
}
