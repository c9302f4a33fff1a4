import NIOCore
import StowageCore
import StowageBackendConformance
import Testing

/// Bounded randomized fuzzing of the aws-chunked decoder: mutated valid bodies, fed in random
/// splits, either decode or throw an S3 error. Never a crash, never a hang (each input is
/// consumed in a bounded number of steps), never more data out than bytes in.
@Suite struct AWSChunkedDecoderFuzzTests {
    static func validBody(_ rng: inout SeededRandom) -> [UInt8] {
        var body: [UInt8] = []
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let size = Int.random(in: 1...300, using: &rng)
            body += Array("\(String(size, radix: 16));chunk-signature=\(String(repeating: "a", count: 64))\r\n".utf8)
            body += [UInt8](repeating: UInt8(ascii: "x"), count: size) + [13, 10]
        }
        body += Array("0;chunk-signature=\(String(repeating: "b", count: 64))\r\n".utf8)
        if Bool.random(using: &rng) { body += Array("x-amz-checksum-crc32:AAAAAA==\r\n".utf8) }
        return body + [13, 10]
    }

    @Test func mutatedBodiesNeverCrashOrOverproduce() {
        var rng = SeededRandom(seed: 0xC4A7_0001)
        let interesting: [[UInt8]] = [[13, 10], Array(";".utf8), Array("ffffffffffffffff".utf8), Array("0".utf8), Array(":".utf8), [0], [10]]
        for _ in 0..<4000 {
            var body = Self.validBody(&rng)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0...body.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where at < body.count: body.remove(at: at)
                case 1: body.insert(contentsOf: interesting.randomElement(using: &rng)!, at: at)
                default: if at < body.count { body[at] = UInt8.random(in: 0...255, using: &rng) }
                }
            }
            var decoder = AWSChunkedDecoder()
            var produced = 0
            var start = 0
            do {
                while start < body.count {
                    let end = min(body.count, start + Int.random(in: 1...64, using: &rng))
                    var buffer = ByteBuffer(bytes: body[start..<end])
                    var events: [AWSChunkedDecoder.Event] = []
                    try decoder.feed(&buffer, into: &events)
                    for case .data(let data) in events { produced += data.readableBytes }
                    start = end
                }
                _ = try decoder.finish()
            } catch is S3Error {
                // Refused with an S3 error: the expected outcome for most mutations.
            } catch {
                Issue.record("non-S3 error \(error)")
            }
            #expect(produced <= body.count)
        }
    }
}
