/// Forms erasure sets from the nodes' drives, once, at a cluster's first start (CLUSTER.md §1):
/// nodes sorted by id, each node's drives by path, slots taken node-major per drive index
/// ("Set 0: N1-D0, N2-D0, N3-D0, N1-D1, …"), cut into sets of n = k+m. Every refusal names the
/// rule and its arithmetic.
///
/// ```swift
/// let layout = try ErasureSetFormation.form(nodes: [.init(id: "n1", drives: ["/d1", "/d2"]), …],
///                                           dataShards: 4, parityShards: 2)
/// layout.sets[0]    // six drive slots, two per node on three nodes
/// ```
public enum ErasureSetFormation {
    public struct Node: Sendable, Equatable {
        public let id: String
        public let drives: [String]

        public init(id: String, drives: [String]) {
            self.id = id
            self.drives = drives
        }
    }

    public struct Slot: Sendable, Hashable, CustomStringConvertible {
        public let node: String
        public let drive: String
        public var description: String { "\(node):\(drive)" }
    }

    public struct Layout: Sendable, Equatable {
        public let dataShards: Int
        public let parityShards: Int
        public let sets: [[Slot]]
        /// Losing a node leaves every set readable but some without a write quorum (allowed
        /// only when asked for).
        public let readOnlyOnNodeLoss: Bool
    }

    public static func form(nodes: [Node], dataShards k: Int, parityShards m: Int,
                            allowReadOnlyOnNodeLoss: Bool = false) throws(ErasureSetFormationError) -> Layout {
        let n = k + m
        guard k >= 1, m >= 0, n <= 16 else {
            throw .refused("\(k)+\(m): erasure coding needs at least 1 data shard and at most 16 shards in all")
        }
        guard m <= n / 2 else {
            throw .refused("\(k)+\(m): parity above half the set (\(m) > \(n)/2) buys no extra safety and breaks quorum arithmetic; use at most \(n / 2) parity shards")
        }
        guard !nodes.isEmpty else { throw .refused("no nodes to form erasure sets from") }
        let ids = nodes.map(\.id)
        if let duplicate = ids.first(where: { id in ids.filter { $0 == id }.count > 1 }) {
            throw .refused("node id \(duplicate) appears more than once")
        }
        for node in nodes {
            if node.drives.isEmpty { throw .refused("node \(node.id) has no drives") }
            if Set(node.drives).count != node.drives.count { throw .refused("node \(node.id) lists a drive more than once") }
        }
        let counts = Set(nodes.map(\.drives.count))
        guard counts.count == 1, let perNode = counts.first else {
            let listed = nodes.sorted { $0.id < $1.id }.map { "\($0.id): \($0.drives.count)" }.joined(separator: ", ")
            throw .refused("every node needs the same number of drives (\(listed))")
        }
        let total = perNode * nodes.count
        guard total % n == 0 else {
            throw .refused("\(nodes.count) node(s) × \(perNode) drive(s) = \(total) drives, not a multiple of the \(n) drives of a \(k)+\(m) set")
        }
        let sorted = nodes.sorted { $0.id < $1.id }.map { Node(id: $0.id, drives: $0.drives.sorted()) }
        var slots: [Slot] = []
        for driveIndex in 0..<perNode {
            for node in sorted { slots.append(Slot(node: node.id, drive: node.drives[driveIndex])) }
        }
        let sets = stride(from: 0, to: total, by: n).map { Array(slots[$0..<($0 + n)]) }
        var readOnly = false
        if nodes.count > 1 {
            let quorum = n / 2 + 1
            for (index, set) in sets.enumerated() {
                let most = Dictionary(grouping: set, by: \.node).values.map(\.count).max() ?? 0
                if most > m {
                    throw .refused("set \(index) puts \(most) of its \(n) drives on one node: losing that node loses more than the \(m) parity shards; use more nodes or fewer drives per node")
                }
                if most > n - quorum {
                    guard allowReadOnlyOnNodeLoss else {
                        throw .refused("\(k)+\(m) on \(nodes.count) nodes: losing a node leaves \(n - most) of \(n) drives in set \(index), enough to read but not the \(quorum) a write needs; use more nodes, or allow read-only on node loss")
                    }
                    readOnly = true
                }
            }
        }
        return Layout(dataShards: k, parityShards: m, sets: sets, readOnlyOnNodeLoss: readOnly)
    }
}

public enum ErasureSetFormationError: Error, Equatable, CustomStringConvertible {
    case refused(String)

    public var description: String {
        switch self {
        case .refused(let reason): "cannot form erasure sets: \(reason)"
        }
    }
}
