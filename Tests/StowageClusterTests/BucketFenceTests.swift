import Foundation
import Logging
import NIOCore
import StowageCore
import Testing
@testable import StowageCluster

/// DeleteBucket's fence (CLUSTER.md §6, F11): a drive that closed a bucket votes on none of its
/// object keys, and a PUT racing a DeleteBucket is either refused or found.
@Suite(.timeLimit(.minutes(2)))
struct BucketFenceTests {
    @Test func aClosedBucketGetsNoVoteUntilItsLeaseEndsOrItIsOpened() async throws {
        let drives = TempDrives(count: 1)
        let catalog = try DriveCatalog.open(path: drives.paths[0] + "/catalog.sqlite", durable: false, logger: Logger(label: "test"))
        defer { try? catalog.close() }
        let bucket = Array(repeating: UInt8(7), count: 16), otherBucket = Array(repeating: UInt8(8), count: 16)
        let now = WallClock.nowMs()
        func accept(_ scope: [UInt8], _ n: UInt64) async throws -> AcceptorReply {
            let ballot = Ballot(ms: now, logical: UInt16(n), nodeIndex: 1, incarnation: 1)
            return try await catalog.apply(
                .accept(ballot, RegisterValue(writeID: .random(), payload: [1]), carriesData: false),
                to: RegisterKey(scope: scope, key: "k"), wallMs: now, isVoter: true)
        }
        let run: [UInt8] = [1], other: [UInt8] = [2]
        try await catalog.fence(bucketID: bucket, token: run, untilMs: now + 60_000)
        #expect(try await accept(bucket, 1) == .notVoter)
        #expect(try await accept(otherBucket, 2) == .accepted(voter: true, holdsData: false))
        // Reads still answer (DeleteBucket lists the bucket through the fence).
        let read = try await catalog.apply(.read, to: RegisterKey(scope: bucket, key: "k"), wallMs: now, isVoter: true)
        #expect(read == .state(accepted: nil, chosen: false))
        // Another run's reopen leaves this run's fence; its own removes it.
        try await catalog.fence(bucketID: bucket, token: other, untilMs: nil, open: true)
        #expect(try await accept(bucket, 3) == .notVoter)
        try await catalog.fence(bucketID: bucket, token: run, untilMs: nil, open: true)
        #expect(try await accept(bucket, 4) == .accepted(voter: true, holdsData: false))
        // A lease that ended fences nothing.
        try await catalog.fence(bucketID: bucket, token: run, untilMs: now - 1)
        #expect(try await accept(bucket, 5) == .accepted(voter: true, holdsData: false))
        // A fence for good is never reopened, whoever asks.
        try await catalog.fence(bucketID: bucket, token: ClusterBackend.permanentFence, untilMs: nil)
        try await catalog.fence(bucketID: bucket, token: ClusterBackend.permanentFence, untilMs: nil, open: true)
        #expect(try await accept(bucket, 6) == .notVoter)
    }

    @Test func aPutRacingDeleteBucketIsRefusedOrFound() async throws {
        let drives = TempDrives(count: 6)
        let backend = ClusterBackend(options: .init(drives: drives.paths, chunkSize: 64 << 10, inlineLimit: 4 << 10), logger: Logger(label: "test"))
        try await backend.open()
        for round in 0..<15 {
            let name = "race-\(round)"
            _ = try await backend.createBucket(name, owner: .anonymous, region: "us-east-1")
            async let put: Bool = {
                (try? await backend.putObject(ObjectAddress(bucket: name, key: "k"), body: S3Body(ByteBuffer(bytes: [UInt8](repeating: 1, count: 100))), options: PutObjectOptions())) != nil
            }()
            async let deleted: Bool = { (try? await backend.deleteBucket(name)) != nil }()
            let (stored, gone) = await (put, deleted)
            #expect(!(stored && gone), "round \(round): the PUT was acknowledged and the bucket deleted")
            if stored {
                #expect(try await backend.headObject(ObjectAddress(bucket: name, key: "k"), options: GetObjectOptions()).info.size == 100)
            }
        }
        try await backend.close()
    }
}
