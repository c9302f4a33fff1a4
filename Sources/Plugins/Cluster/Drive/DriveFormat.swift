import Foundation

/// `<drive>/.stowage/format.json` (CLUSTER.md §1): which cluster a drive belongs to and where
/// it sits. Every drive of a deployment carries the same set map, so any majority of a
/// node's drives can tell which drives are its own and which slot each one fills, whatever
/// order the paths are configured in.
///
/// ```swift
/// let formats = DriveFormat.form(drivePaths: paths, dataShards: 4, parityShards: 2, chunkSize: 4 << 20)
/// for (path, format) in zip(paths, formats) { try DriveFormatFile.write(format, drive: path, durable: true) }
/// ```
public struct DriveFormat: Codable, Sendable, Equatable {
    /// The newest format this build reads. Version 2 marks a drive of pool 1 or later: a build
    /// that knows one pool only (version 1) refuses such drives instead of serving a second
    /// system set from them.
    public static let currentVersion = 2

    /// The version a drive of `pool` is written with (pool 0's drives stay readable by builds
    /// that know one pool).
    public static func version(forPool pool: Int) -> Int { pool == 0 ? 1 : 2 }
    public static let distributionAlgorithm = "siphash24-set/crc32c-rotation/v1"

    public var formatVersion: Int
    public var clusterID: String
    /// 32 hex digits; keys the placement hash.
    public var deploymentID: String
    public var pool: Int
    public var set: Int
    public var slot: Int
    public var driveUUID: String
    /// The set map: `sets[s][i]` is the UUID of the drive in slot i of set s.
    public var sets: [[String]]
    public var dataShards: Int
    public var parityShards: Int
    public var chunkSize: Int
    public var distribution: String
    /// Which node holds each drive (UUID → node ID) in a multi-node deployment; absent for
    /// one node's drives.
    public var nodes: [String: String]?

    /// The deployment ID as the 16 bytes placement hashes with.
    public var deploymentKey: [UInt8] { Self.hexBytes(deploymentID) }

    static func hexBytes(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var digits = text.makeIterator()
        while let high = digits.next(), let low = digits.next(), let byte = UInt8(String([high, low]), radix: 16) {
            bytes.append(byte)
        }
        return bytes
    }

    /// Formats for a single node's drives (in the order given), forming sets of k+m slots.
    /// Multi-node formation goes through ``ErasureSetFormation`` and the cluster map.
    public static func form(
        drivePaths: [String], dataShards: Int, parityShards: Int, chunkSize: Int
    ) throws(ErasureSetFormationError) -> [DriveFormat] {
        let layout = try ErasureSetFormation.form(
            nodes: [.init(id: "local", drives: drivePaths)], dataShards: dataShards, parityShards: parityShards)
        var uuids: [String: String] = [:]
        for path in drivePaths { uuids[path] = UUID().uuidString.lowercased() }
        let map = layout.sets.map { $0.map { uuids[$0.drive]! } }
        let clusterID = UUID().uuidString.lowercased()
        let deploymentID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        var formats: [DriveFormat] = []
        for path in drivePaths {
            let uuid = uuids[path]!
            let set = map.firstIndex { $0.contains(uuid) }!
            formats.append(DriveFormat(
                formatVersion: version(forPool: 0), clusterID: clusterID, deploymentID: deploymentID, pool: 0, set: set,
                slot: map[set].firstIndex(of: uuid)!, driveUUID: uuid, sets: map, dataShards: dataShards,
                parityShards: parityShards, chunkSize: chunkSize, distribution: distributionAlgorithm))
        }
        return formats
    }

    /// Formats for every drive of several nodes, formed in sets interleaved across them
    /// (``ErasureSetFormation``); each node writes its own drives' formats. Until the cluster
    /// map forms a deployment at first start (issue 14), this is how an in-process cluster
    /// is formed.
    public static func form(
        nodes: [ErasureSetFormation.Node], dataShards: Int, parityShards: Int, chunkSize: Int
    ) throws(ErasureSetFormationError) -> [(node: String, drive: String, format: DriveFormat)] {
        let layout = try ErasureSetFormation.form(nodes: nodes, dataShards: dataShards, parityShards: parityShards)
        var uuids: [ErasureSetFormation.Slot: String] = [:]
        for slot in layout.sets.joined() { uuids[slot] = UUID().uuidString.lowercased() }
        let map = layout.sets.map { $0.map { uuids[$0]! } }
        var owners: [String: String] = [:]
        for (slot, uuid) in uuids { owners[uuid] = slot.node }
        let clusterID = UUID().uuidString.lowercased()
        let deploymentID = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return layout.sets.enumerated().flatMap { set, slots in
            slots.enumerated().map { index, slot in
                (slot.node, slot.drive, DriveFormat(
                    formatVersion: version(forPool: 0), clusterID: clusterID, deploymentID: deploymentID, pool: 0, set: set,
                    slot: index, driveUUID: uuids[slot]!, sets: map, dataShards: dataShards, parityShards: parityShards,
                    chunkSize: chunkSize, distribution: distributionAlgorithm, nodes: owners))
            }
        }
    }

    /// Two drives belong to the same deployment with the same layout.
    func agrees(with other: DriveFormat) -> Bool {
        clusterID == other.clusterID && deploymentID == other.deploymentID && sets == other.sets
            && dataShards == other.dataShards && parityShards == other.parityShards && chunkSize == other.chunkSize
            && distribution == other.distribution && nodes == other.nodes
    }
}

/// Reads and writes `format.json` safely: temp file, fsync, rename, directory fsync.
public enum DriveFormatFile {
    public enum Found: Sendable, Equatable {
        case formatted(DriveFormat)
        /// No format: a new drive, or one that lost its contents. Never formatted implicitly
        /// once the deployment exists (F19).
        case unformatted
        /// The drive or its format cannot be read (the reason says why).
        case unreadable(String)
    }

    public static func path(drive: String) -> String { drive + "/.stowage/format.json" }

    public static func read(drive: String) -> Found {
        let file = path(drive: drive)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: drive, isDirectory: &isDirectory), isDirectory.boolValue else {
            return .unreadable("the drive directory \(drive) does not exist")
        }
        guard FileManager.default.fileExists(atPath: file) else { return .unformatted }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let format = try JSONDecoder().decode(DriveFormat.self, from: data)
            guard format.formatVersion <= DriveFormat.currentVersion else {
                return .unreadable("\(file) has format version \(format.formatVersion); this build reads up to \(DriveFormat.currentVersion)")
            }
            return .formatted(format)
        } catch {
            return .unreadable("\(file) cannot be read: \(error)")
        }
    }

    public static func write(_ format: DriveFormat, drive: String, durable: Bool) throws {
        let directory = drive + "/.stowage"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temp = directory + "/format.json.tmp"
        try DurableFiles.write(try encoder.encode(format), to: temp, durable: durable)
        try DurableFiles.rename(temp, to: path(drive: drive), durable: durable)
    }
}
