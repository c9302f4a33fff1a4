import Foundation
import StowageCore
import StowageInProcessTransport
import Testing
@testable import StowageCluster

/// Bucket configuration across coordinators (CLUSTER.md §6): a change made through one node is
/// what every other node answers at once when the announcement reaches it, and within the 5 s
/// lease when it does not. Stages key their parsed documents on the configuration version, so
/// what `bucket()` and `bucketConfiguration()` answer here is what the policy and CORS stages
/// of that node enforce.
@Suite(.timeLimit(.minutes(2)))
struct ClusterConfigurationTests {
    @Test func aChangeThroughOneNodeReachesTheOthersWithinTheBound() async throws {
        let nodes = try await ThreeNodeBackendTests.Nodes()
        let (n0, n1, n2) = (nodes.backends[0], nodes.backends[1], nodes.backends[2])
        _ = try await n0.createBucket("cfg", owner: .anonymous, region: "us-east-1")
        // Every node caches the bucket (a lease of 5 s).
        for node in nodes.backends { _ = try await node.bucketConfiguration("cfg", kind: .policy) }
        let first = Array("{\"Version\":\"2012-10-17\",\"Statement\":[]}".utf8)
        try await n0.setBucketConfiguration("cfg", kind: .policy, document: first)
        let version = try await n0.bucket("cfg").configurationVersion
        // Announced: the others answer the new document and version at once.
        for node in [n1, n2] {
            #expect(try await node.bucketConfiguration("cfg", kind: .policy) == first)
            #expect(try await node.bucket("cfg").configurationVersion == version)
        }

        // The announcement cannot reach n2: it answers from its lease, never longer than 5 s.
        nodes.network.block(from: NodeID("n0"), to: NodeID("n2"))
        let cors = Array("<CORSConfiguration/>".utf8)
        let changed = ContinuousClock.now
        try await n0.setBucketConfiguration("cfg", kind: .cors, document: cors)
        #expect(try await n1.bucketConfiguration("cfg", kind: .cors) == cors)
        // Once its lease has run out (5 s after it last read the bucket, which was before the
        // change), n2 reads the bucket again and answers the new document.
        try await Task.sleep(until: changed + .milliseconds(5_100))
        #expect(try await n2.bucketConfiguration("cfg", kind: .cors) == cors)
        #expect(try await n2.bucket("cfg").configurationVersion == n0.bucket("cfg").configurationVersion)
        nodes.network.heal()
        await nodes.shutdown()
    }
}
