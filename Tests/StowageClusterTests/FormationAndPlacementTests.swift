import StowageCluster
import Testing

@Suite("SipHash-2-4")
struct SipHashTests {
    /// The reference implementation's `vectors_sip64`: key 00…0f, message 00…(n-1).
    static let vectors: [UInt64] = [
        0x726F_DB47_DD0E_0E31, 0x74F8_39C5_93DC_67FD, 0x0D6C_8009_D9A9_4F5A, 0x8567_6696_D7FB_7E2D,
        0xCF27_94E0_2771_87B7, 0x1876_5564_CD99_A68D, 0xCBC9_466E_58FE_E3CE, 0xAB02_00F5_8B01_D137,
        0x93F5_F579_9A93_2462, 0x9E00_82DF_0BA9_E4B0, 0x7A5D_BBC5_94DD_B9F3, 0xF4B3_2F46_226B_ADA7,
        0x751E_8FBC_860E_E5FB, 0x14EA_5627_C084_3D90, 0xF723_CA90_8E7A_F2EE, 0xA129_CA61_49BE_45E5,
        0x3F2A_CC7F_57C2_9BDB, 0x699A_E9F5_2CBE_4794,
    ]

    @Test("the published test vectors")
    func vectors() {
        let key = SipHash24.Key(bytes: Array(0..<16))
        for (length, expected) in Self.vectors.enumerated() {
            #expect(SipHash24.hash(Array(0..<UInt8(length)), key: key) == expected, "length \(length)")
        }
    }
}

@Suite("Erasure-set formation")
struct FormationTests {
    func nodes(_ count: Int, drives: Int) -> [ErasureSetFormation.Node] {
        (1...count).map { node in .init(id: "n\(node)", drives: (0..<drives).map { "/mnt/d\($0)" }.reversed()) }
    }

    @Test("one node with six drives: one 4+2 set, drives in path order")
    func singleNode() throws {
        let layout = try ErasureSetFormation.form(nodes: nodes(1, drives: 6), dataShards: 4, parityShards: 2)
        #expect(layout.sets.count == 1 && !layout.readOnlyOnNodeLoss)
        #expect(layout.sets[0].map(\.description) == (0..<6).map { "n1:/mnt/d\($0)" })
    }

    @Test("three nodes × two drives: one set interleaved node-major per drive index")
    func threeByTwo() throws {
        let layout = try ErasureSetFormation.form(nodes: nodes(3, drives: 2).reversed(), dataShards: 4, parityShards: 2)
        #expect(layout.sets.map { $0.map(\.description) } == [[
            "n1:/mnt/d0", "n2:/mnt/d0", "n3:/mnt/d0", "n1:/mnt/d1", "n2:/mnt/d1", "n3:/mnt/d1",
        ]])
        #expect(!layout.readOnlyOnNodeLoss)
    }

    @Test("three nodes × four drives: two sets, two drives per node in each")
    func threeByFour() throws {
        let layout = try ErasureSetFormation.form(nodes: nodes(3, drives: 4), dataShards: 4, parityShards: 2)
        #expect(layout.sets.count == 2)
        for set in layout.sets {
            #expect(Dictionary(grouping: set, by: \.node).values.allSatisfy { $0.count == 2 })
        }
        #expect(Set(layout.sets.flatMap { $0 }).count == 12)
    }

    @Test("each refusal names its rule and arithmetic", arguments: [
        (1, 6, 2, 4, "parity above half"),
        (1, 6, 0, 2, "at least 1 data shard"),
        (1, 20, 14, 3, "at most 16 shards"),
        (3, 3, 4, 2, "not a multiple of the 6 drives"),
        (2, 3, 4, 2, "puts 3 of its 6 drives on one node"),
        (2, 2, 2, 2, "leaves 2 of 4 drives"),
    ])
    func refusals(nodeCount: Int, drives: Int, k: Int, m: Int, phrase: String) {
        do {
            _ = try ErasureSetFormation.form(nodes: nodes(nodeCount, drives: drives), dataShards: k, parityShards: m)
            Issue.record("formed \(nodeCount)×\(drives) as \(k)+\(m)")
        } catch {
            #expect(error.description.contains(phrase), "\(error)")
        }
    }

    @Test("2+2 on two nodes forms only when read-only on node loss is allowed")
    func readOnlyOnNodeLoss() throws {
        let layout = try ErasureSetFormation.form(nodes: nodes(2, drives: 2), dataShards: 2, parityShards: 2, allowReadOnlyOnNodeLoss: true)
        #expect(layout.readOnlyOnNodeLoss)
    }

    @Test("unequal drive counts and repeated names are refused")
    func malformedNodes() {
        let unequal = [ErasureSetFormation.Node(id: "a", drives: ["/1", "/2"]), .init(id: "b", drives: ["/1"])]
        #expect(throws: ErasureSetFormationError.refused("every node needs the same number of drives (a: 2, b: 1)")) {
            try ErasureSetFormation.form(nodes: unequal, dataShards: 1, parityShards: 1)
        }
        #expect(throws: ErasureSetFormationError.self) {
            try ErasureSetFormation.form(nodes: [.init(id: "a", drives: ["/1"]), .init(id: "a", drives: ["/2"])], dataShards: 1, parityShards: 1)
        }
        #expect(throws: ErasureSetFormationError.self) {
            try ErasureSetFormation.form(nodes: [.init(id: "a", drives: ["/1", "/1"])], dataShards: 1, parityShards: 1)
        }
    }
}

@Suite("Placement")
struct PlacementTests {
    let deployment: [UInt8] = Array(100..<116)

    @Test("a key's set is a pure function of the deployment, the bucket and the key, and spreads evenly")
    func sets() {
        let placement = Placement(deploymentID: deployment, sets: 8, setSize: 6)
        let again = Placement(deploymentID: deployment, sets: 8, setSize: 6)
        var counts = [Int](repeating: 0, count: 8)
        for index in 0..<8_000 {
            let set = placement.set(bucketID: [1, 2, 3], key: "key-\(index)")
            #expect(set == again.set(bucketID: [1, 2, 3], key: "key-\(index)"))
            counts[set] += 1
        }
        #expect(counts.allSatisfy { (850...1_150).contains($0) }, "\(counts)")
        // The separator keeps (bucket "ab", key "c") apart from (bucket "a", key "bc").
        let keyed = (0..<64).map { Placement(deploymentID: deployment, sets: 1 << 20, setSize: 6).set(bucketID: Array("ab".utf8), key: "c\($0)") }
        let shifted = (0..<64).map { Placement(deploymentID: deployment, sets: 1 << 20, setSize: 6).set(bucketID: Array("a".utf8), key: "bc\($0)") }
        #expect(keyed != shifted)
        // Another deployment places differently.
        let other = Placement(deploymentID: Array(0..<16), sets: 8, setSize: 6)
        #expect((0..<64).contains { other.set(bucketID: [1, 2, 3], key: "key-\($0)") != placement.set(bucketID: [1, 2, 3], key: "key-\($0)") })
    }

    @Test("shards rotate from crc32c(key) mod n")
    func shardOrder() {
        let placement = Placement(deploymentID: deployment, sets: 2, setSize: 6)
        // crc32c("123456789") = 0xE3069283, the standard check value; mod 6 = 3.
        #expect(placement.shardOrder(key: "123456789") == [3, 4, 5, 0, 1, 2])
        let starts = Set((0..<200).map { placement.shardOrder(key: "k\($0)")[0] })
        #expect(starts == Set(0..<6))
    }
}
