import Foundation

/// A temporary directory of shard files for the data-path tests, removed when released.
final class ShardScratch: Sendable {
    let root: String
    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-shards-\(UUID().uuidString)").path
    }
    deinit { try? FileManager.default.removeItem(atPath: root) }
    func path(_ shard: Int) -> String { "\(root)/s\(shard)" }

    /// `count` pseudo-random bytes, the same for the same seed (a failure replays).
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }
}
