import StowageCore
import Synchronization

/// A bucket's policy and ACL as last read, tagged with the bucket's identity so a deleted and
/// recreated bucket never inherits them.
struct BucketAccessState: Sendable {
    var ownerID: String
    var creationDate: S3Timestamp
    var policyDocument: [UInt8]?
    var policy: BucketPolicy?
    var acl: CannedACL?
}

/// Parsed policies by bucket: parsing JSON on every request would cost more than the request.
/// Writes through this stage invalidate their entry.
/// A generation counter makes a read that raced a write drop its (possibly stale) result.
final class BucketAccessCache: Sendable {
    private struct Entries {
        var states: [String: BucketAccessState] = [:]
        var generation: UInt64 = 0
    }
    private let entries = Mutex(Entries())

    func lookup(_ bucket: BucketInfo) -> (BucketAccessState?, generation: UInt64) {
        entries.withLock { entries in
            guard let state = entries.states[bucket.name], state.ownerID == bucket.ownerID, state.creationDate == bucket.creationDate else {
                return (nil, entries.generation)
            }
            return (state, entries.generation)
        }
    }

    func store(_ name: String, _ state: BucketAccessState, generation: UInt64) {
        entries.withLock { entries in
            guard entries.generation == generation else { return }
            entries.states[name] = state
        }
    }

    func invalidate(_ name: String) {
        entries.withLock { entries in
            entries.generation &+= 1
            entries.states.removeValue(forKey: name)
        }
    }
}
