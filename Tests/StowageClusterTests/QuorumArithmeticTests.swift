import StowageCluster
import Testing

@Suite("Quorum and parity arithmetic")
struct QuorumArithmeticTests {
    /// CLUSTER.md §4's table: (k, m, Q, R, most offline for data writes, metadata writes, reads).
    static let table: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 1, 2, 2, 0, 1, 1),
        (4, 2, 4, 3, 2, 2, 2),
        (6, 3, 5, 5, 3, 4, 3),
        (8, 4, 7, 6, 5, 5, 4),
    ]

    func mostOffline(_ n: Int, _ allowed: (Int) -> Bool) -> Int {
        (0...n).last { d in (0...d).allSatisfy(allowed) } ?? -1
    }

    @Test("the design's table, derived from the rules")
    func designTable() {
        for (k, m, q, r, data, metadata, reads) in Self.table {
            let set = QuorumArithmetic(dataShards: k, parityShards: m)
            #expect(set.writeQuorum == q && set.readQuorum == r, "\(k)+\(m)")
            #expect(mostOffline(k + m, set.canWriteData) == data, "\(k)+\(m) data")
            #expect(mostOffline(k + m, set.canWriteMetadata) == metadata, "\(k)+\(m) metadata")
            #expect(mostOffline(k + m) { set.canRead(offline: $0) } == reads, "\(k)+\(m) reads")
        }
    }

    @Test("parity is raised for offline drives, up to half the set")
    func raisedParity() {
        let set = QuorumArithmetic(dataShards: 4, parityShards: 2)
        #expect(set.stripe(offline: 0) == (4, 2))
        #expect(set.stripe(offline: 1) == (3, 3))
        #expect(set.stripe(offline: 2) == (3, 3))
        #expect(set.dataDrivesNeeded(offline: 2) == 4)
        let wide = QuorumArithmetic(dataShards: 8, parityShards: 4)
        #expect(wide.stripe(offline: 5) == (6, 6) && wide.dataDrivesNeeded(offline: 5) == 7)
        // An object written degraded reads back from its own k′ shards.
        #expect(set.canRead(offline: 3, objectDataShards: 3))
        #expect(!set.canRead(offline: 3))
    }

    @Test("writeQuorum: data lets 2+1 write with one drive down")
    func dataWriteQuorum() {
        #expect(!QuorumArithmetic(dataShards: 2, parityShards: 1).canWriteData(offline: 1))
        let lenient = QuorumArithmetic(dataShards: 2, parityShards: 1, dataWriteQuorum: .data)
        #expect(lenient.canWriteData(offline: 1) && !lenient.canWriteData(offline: 2))
        #expect(QuorumArithmetic(dataShards: 3, parityShards: 0).dataDrivesNeeded(offline: 0) == 3)
    }
}
