import HTTPTypes
import StowageCore

/// A bucket deleted through this node is dropped from every other node's lease cache
/// (CLUSTER.md §6: "broadcast invalidate"; acknowledged once every node confirmed, or after
/// 1 s). A node that misses it still answers from its lease for at most 5 s, the documented
/// staleness bound.
extension ClusterBackend {
    func announceBucketChange(_ name: String, state: State) async {
        guard let transport else { return }
        // Every member: the nodes of this node's sets, and those of a pool it has not heard of yet.
        let current = (try? openState()) ?? state
        let members = lifecycle?.membership()?.members.map { NodeID($0.id) } ?? []
        let nodes = Set(current.remote.map(\.node) + members).subtracting([NodeID(options.nodeID)])
        guard !nodes.isEmpty else { return }
        var fields = HTTPFields()
        fields[DriveRequestHandler.bucketField] = name
        let request = ClusterRequest(verb: DriveRequestHandler.bucketVerb, resource: "bucket/\(name)", fields: fields)
        await withTaskGroup(of: Void.self) { race in
            race.addTask {
                await withTaskGroup(of: Void.self) { sends in
                    for node in nodes {
                        sends.addTask {
                            guard let response = try? await transport.send(request, to: node) else { return }
                            do {
                                for try await _ in response.body {}
                            } catch {
                                // A node that did not confirm keeps its lease, at most 5 s.
                            }
                        }
                    }
                }
            }
            race.addTask { try? await Task.sleep(for: .seconds(1)) }
            await race.next()
            race.cancelAll()
        }
    }
}
