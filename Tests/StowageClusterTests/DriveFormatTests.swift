import Foundation
import Testing
@testable import StowageCluster

/// format.json on real directories, and the start-up agreement over a node's drives.
@Suite struct DriveFormatTests {
    final class Directories: Sendable {
        let root: String
        let drives: [String]

        init(_ count: Int) throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-format-\(UUID().uuidString)").path
            self.root = root
            drives = (0..<count).map { "\(root)/d\($0)" }
            for drive in drives { try FileManager.default.createDirectory(atPath: drive, withIntermediateDirectories: true) }
        }

        func formatAll(k: Int = 4, m: Int = 2) throws -> [DriveFormat] {
            let formats = try DriveFormat.form(drivePaths: drives, dataShards: k, parityShards: m, chunkSize: 4 << 20)
            for (drive, format) in zip(drives, formats) { try DriveFormatFile.write(format, drive: drive, durable: true) }
            return formats
        }

        func found(_ paths: [String]? = nil) -> [(path: String, found: DriveFormatFile.Found)] {
            (paths ?? drives).map { ($0, DriveFormatFile.read(drive: $0)) }
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    private func agreement(_ resolution: FormatAgreement.Resolution) -> FormatAgreement.Agreement? {
        if case .agreed(let agreement) = resolution { return agreement }
        Issue.record("expected agreement, got \(resolution)")
        return nil
    }

    @Test func newDrivesAreFormedThenAgree() throws {
        let dirs = try Directories(6)
        #expect(FormatAgreement.resolve(dirs.found()) == .form)
        let formats = try dirs.formatAll()
        #expect(Set(formats.map(\.driveUUID)).count == 6 && formats.allSatisfy { $0.sets == formats[0].sets })
        #expect(formats[0].deploymentKey.count == 16)
        guard let agreed = agreement(FormatAgreement.resolve(dirs.found())) else { return }
        #expect(agreed.drives.count == 6 && agreed.excluded.isEmpty)
        // Paths configured in another order still map each drive to its own slot.
        guard let reordered = agreement(FormatAgreement.resolve(dirs.found(dirs.drives.reversed()))) else { return }
        #expect(reordered.drives == agreed.drives)
    }

    @Test func twelveDrivesFormTwoSets() throws {
        let dirs = try Directories(12)
        let formats = try dirs.formatAll()
        #expect(formats[0].sets.count == 2 && formats[0].sets.allSatisfy { $0.count == 6 })
        #expect(Set(formats.map { "\($0.set).\($0.slot)" }).count == 12)
    }

    @Test func missingAndForeignDrivesAreExcludedByName() throws {
        let dirs = try Directories(12)
        _ = try dirs.formatAll()
        try FileManager.default.removeItem(atPath: DriveFormatFile.path(drive: dirs.drives[1]))
        try FileManager.default.removeItem(atPath: dirs.drives[2])
        // Drive 3 now holds drive 0's format (a copied disk).
        try FileManager.default.removeItem(atPath: DriveFormatFile.path(drive: dirs.drives[3]))
        try FileManager.default.copyItem(atPath: DriveFormatFile.path(drive: dirs.drives[0]), toPath: DriveFormatFile.path(drive: dirs.drives[3]))
        guard let agreed = agreement(FormatAgreement.resolve(dirs.found())) else { return }
        #expect(agreed.drives.count == 9)
        #expect(agreed.excluded.map(\.path) == [dirs.drives[1], dirs.drives[2], dirs.drives[3]])
        #expect(agreed.excluded[0].reason.contains("no format.json"))
        #expect(agreed.excluded[1].reason.contains("does not exist"))
        #expect(agreed.excluded[2].reason.contains("same drive UUID as \(dirs.drives[0])"))
    }

    @Test func withoutAMajorityStartIsRefusedNamingTheDrives() throws {
        let dirs = try Directories(6)
        _ = try dirs.formatAll()
        let other = try Directories(6)
        let foreign = try other.formatAll()
        for index in 0..<3 { try DriveFormatFile.write(foreign[index], drive: dirs.drives[index], durable: false) }
        guard case .refused(let reason) = FormatAgreement.resolve(dirs.found()) else { Issue.record("not refused"); return }
        #expect(reason.contains("only 3 of 6 drives agree"))
        #expect(reason.contains("another deployment"))
    }

    @Test func aNewDeploymentNeedsEveryDriveReadable() throws {
        let dirs = try Directories(6)
        try FileManager.default.removeItem(atPath: dirs.drives[5])
        guard case .refused(let reason) = FormatAgreement.resolve(dirs.found()) else { Issue.record("not refused"); return }
        #expect(reason.contains(dirs.drives[5]))
    }

    @Test func formationRefusalsKeepTheirArithmetic() {
        #expect(throws: ErasureSetFormationError.self) {
            try DriveFormat.form(drivePaths: (0..<5).map { "/d\($0)" }, dataShards: 4, parityShards: 2, chunkSize: 1 << 20)
        }
    }
}
