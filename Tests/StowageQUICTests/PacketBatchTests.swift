import Testing
@testable import StowageQUIC

@Suite("PacketBatch: runs for UDP GSO")
struct PacketBatchTests {
    typealias Run = PacketBatch.Run

    /// Feeds `sizes` as written back to back; returns every run, the final one included.
    func runs(_ sizes: [Int], segmentation: Bool = true, capacity: Int = 65_536) -> [Run] {
        var batch = PacketBatch(segmentation: segmentation)
        var out: [Run] = []
        for size in sizes {
            if !batch.fits(size, capacity: capacity), let run = batch.finish() { out.append(run) }
            if let run = batch.add(size) { out.append(run) }
        }
        if let run = batch.finish() { out.append(run) }
        return out
    }

    @Test func equalPacketsAndAShortLastMakeOneRun() {
        #expect(runs([1200, 1200, 1200, 700]) == [Run(bytes: 0..<4300, segment: 1200)])
    }

    @Test func aRunNeedNotStartAtTheLargestSize() {
        // Packets shorter than the configured maximum (before path MTU discovery) still batch.
        #expect(runs([1200, 1200, 1200]) == [Run(bytes: 0..<3600, segment: 1200)])
    }

    @Test func aLargerPacketEndsTheRunAndStartsTheNext() {
        // A small ack-only packet first, then full data packets: two sends, never a segment
        // size smaller than a packet after it.
        #expect(runs([60, 1452, 1452, 1452]) == [Run(bytes: 0..<60, segment: nil), Run(bytes: 60..<4416, segment: 1452)])
        // A path MTU probe larger than the run.
        #expect(runs([1200, 1200, 1452]) == [Run(bytes: 0..<2400, segment: 1200), Run(bytes: 2400..<3852, segment: nil)])
    }

    @Test func aShorterPacketEndsItsRun() {
        #expect(runs([1452, 1000, 1452, 1452]) == [Run(bytes: 0..<2452, segment: 1452), Run(bytes: 0..<2904, segment: 1452)])
    }

    @Test func runsStayWithinTheKernelsLimits() {
        let all = runs(Array(repeating: 1452, count: 100), capacity: 1 << 20)
        #expect(all.map(\.bytes.count).reduce(0, +) == 145_200)
        for run in all {
            #expect(run.bytes.count <= PacketBatch.maxRunBytes)
            let segment = run.segment ?? run.bytes.count
            #expect((run.bytes.count + segment - 1) / segment <= PacketBatch.maxSegments)
        }
        let small = runs(Array(repeating: 100, count: 130), capacity: 1 << 20)
        #expect(small.count == 3)
        #expect(small.allSatisfy { $0.bytes.count <= 64 * 100 })
    }

    @Test func aFullBufferIsSentAndReusedFromItsStart() {
        // Nothing is ever written past the buffer: a packet that does not fit sends what is
        // pending and starts again at 0.
        let all = runs(Array(repeating: 1000, count: 10), capacity: 4_500)
        #expect(all == [Run(bytes: 0..<4000, segment: 1000), Run(bytes: 0..<4000, segment: 1000), Run(bytes: 0..<2000, segment: 1000)])
        #expect(all.allSatisfy { $0.bytes.upperBound <= 4_500 })
    }

    @Test func withoutSegmentationEveryPacketGoesAlone() {
        #expect(runs([1200, 1200, 60], segmentation: false) == [
            Run(bytes: 0..<1200, segment: nil), Run(bytes: 0..<1200, segment: nil), Run(bytes: 0..<60, segment: nil),
        ])
    }
}
