import Foundation
@testable import StowageCluster
import Testing

@Suite struct ClusterMapTests {
    static func founding() -> ClusterMap {
        ClusterMap.founding(
            clusterID: "c-map", node: .init(id: "node-a", address: "127.0.0.1:4001", drives: ["/a/d1", "/a/d2"]),
            dataShards: 4, parityShards: 2, chunkSize: 1 << 20)
    }

    @Test func joinsGetTheNextIndexAndRaiseTheEpoch() throws {
        var map = Self.founding()
        try map.admit(.init(id: "node-b", address: "127.0.0.1:4002", drives: ["/b/d1", "/b/d2"]))
        try map.admit(.init(id: "node-c", address: "127.0.0.1:4003", drives: ["/c/d1", "/c/d2"]))
        #expect(map.members.map(\.index) == [0, 1, 2])
        #expect(map.epoch == 3)
        #expect(map.spares.count == 3)
        #expect(throws: ClusterMap.Refused.self) { try map.admit(.init(id: "node-b", address: "127.0.0.1:4009", drives: ["/x"])) }
        #expect(throws: ClusterMap.Refused.self) { try map.admit(.init(id: "node-d", address: "127.0.0.1:4003", drives: ["/x"])) }
        #expect(map.epoch == 3)
    }

    /// Three nodes of two drives form one 4+2 set with two slots on each node; each node's
    /// formats name only its own drives, and every format agrees on the set map and owners.
    @Test func aPoolFormsFromTheSparesAndEachNodeGetsItsDrivesFormats() throws {
        var map = Self.founding()
        #expect(map.formats(of: "node-a").isEmpty)
        try map.admit(.init(id: "node-b", address: "127.0.0.1:4002", drives: ["/b/d1", "/b/d2"]))
        try map.admit(.init(id: "node-c", address: "127.0.0.1:4003", drives: ["/c/d1", "/c/d2"]))
        let pool = try map.formPool()
        #expect(map.epoch == 4)
        #expect(pool.sets.count == 1 && pool.sets[0].count == 6)
        #expect(map.spares.isEmpty)
        var all: [DriveFormat] = []
        for node in ["node-a", "node-b", "node-c"] {
            let formats = map.formats(of: node)
            #expect(formats.count == 2)
            #expect(formats.allSatisfy { $0.path.hasPrefix("/" + node.suffix(1)) })
            all += formats.map(\.format)
        }
        #expect(Set(all.map(\.driveUUID)).count == 6)
        #expect(all.allSatisfy { $0.agrees(with: all[0]) && $0.clusterID == "c-map" })
        #expect(Set(all.map(\.slot)) == Set(0..<6))
        #expect(throws: ClusterMap.Refused.self) { try map.formPool() }
    }

    /// An expansion: the spares joined after the first pool form pool 1 with a deployment ID
    /// of its own; pool 0 is left exactly as it was.
    @Test func laterSparesFormTheNextPoolAndTheFirstStaysAsItWas() throws {
        var map = Self.founding()
        for node in ["b", "c"] {
            try map.admit(.init(id: "node-\(node)", address: "127.0.0.1:400\(node == "b" ? 2 : 3)", drives: ["/\(node)/d1", "/\(node)/d2"]))
        }
        let first = try map.formPool()
        for (index, node) in ["d", "e", "f"].enumerated() {
            try map.admit(.init(id: "node-\(node)", address: "127.0.0.1:401\(index)", drives: ["/\(node)/d1", "/\(node)/d2"]))
        }
        #expect(map.spares.map(\.id) == ["node-d", "node-e", "node-f"])
        let second = try map.formPool()
        #expect(map.pools == [first, second])
        #expect(second.deploymentID != first.deploymentID)
        #expect(Set(second.drives.values.map(\.node)) == ["node-d", "node-e", "node-f"])
        #expect(map.members.map(\.pool) == [0, 0, 0, 1, 1, 1])
        let formats = map.formats(of: "node-e")
        #expect(formats.count == 2 && formats.allSatisfy { $0.format.pool == 1 && $0.format.deploymentID == second.deploymentID })
        #expect(map.formats(of: "node-a").allSatisfy { $0.format.pool == 0 && $0.format.sets == first.sets })
        #expect(throws: ClusterMap.Refused.self) { try map.formPool() }
    }

    @Test func aPoolTheLayoutRulesRefuseIsNotFormed() {
        var map = Self.founding()
        // 2 drives cannot hold a 4+2 set.
        #expect(throws: ClusterMap.Refused.self) { try map.formPool() }
        #expect(map.pools.isEmpty && map.epoch == 1)
    }

    @Test func aNewerCopyOfTheSameClusterSupersedes() throws {
        let old = Self.founding()
        var new = old
        try new.admit(.init(id: "node-b", address: "127.0.0.1:4002", drives: ["/b/d1", "/b/d2"]))
        #expect(new.supersedes(old) && !old.supersedes(new))
        var other = new
        other.clusterID = "c-other"
        #expect(!other.supersedes(old))
        let decoded = try JSONDecoder().decode(ClusterMap.self, from: JSONEncoder().encode(new))
        #expect(decoded == new)
    }
}
