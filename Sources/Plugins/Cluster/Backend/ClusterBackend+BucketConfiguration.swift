import Foundation
public import StowageCore

/// Bucket configuration documents (CLUSTER.md §6): kept in the bucket's register, written by
/// compare-and-set on it, each write drawing a new configuration version. Every other node
/// drops its cached record when told (the same announcement as a DeleteBucket), so policy and
/// CORS changes made through one node are enforced by all within 1 s, and by a node that
/// missed the announcement within its 5 s lease.
extension ClusterBackend {
    public func bucketConfiguration(_ bucket: String, kind: BucketSubresource) async throws -> [UInt8]? {
        let record = try await bucketRecord(bucket, state: try openState())
        return record.configuration?[kind.rawValue].map(Array.init)
    }

    public func setBucketConfiguration(_ bucket: String, kind: BucketSubresource, document: [UInt8]?) async throws {
        let state = try openState()
        let known = try await bucketRecord(bucket, state: state)
        // Above the current one (stages keep the numerically newest parsed document), and
        // from the clock with random low bits, so a re-created bucket does not repeat one.
        let fresh = UInt64(S3Timestamp.now.millisecondsSinceEpoch) << 16 | UInt64.random(in: 0...0xFFFF)
        let outcome = await state.sets[0].coordinator.compareAndSet(key: Self.bucketKey(bucket)) { current in
            // The same incarnation of the bucket only: one deleted and re-created meanwhile is another bucket.
            guard let current, !current.value.tombstone, var record = try? BucketRecord.decode(current.value), record.id == known.id
            else { return .refuse }
            var documents = record.configuration ?? [:]
            documents[kind.rawValue] = document.map { Data($0) }
            record.configuration = documents
            record.configurationVersion = max(fresh, record.info.configurationVersion + 1)
            guard let payload = try? JSONEncoder().encode(record) else { return .refuse }
            return .write(RegisterValue(writeID: .random(), payload: Array(payload)))
        }
        bucketCache.invalidate(bucket)
        if case .preconditionFailed = outcome { throw S3Error(.noSuchBucket).with("BucketName", bucket) }
        _ = try Self.resolve(outcome)
        await announceBucketChange(bucket, state: state)
    }
}
