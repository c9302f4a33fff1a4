/// Start-up check of a node's drives (CLUSTER.md §1): a format is accepted only if a majority
/// of the configured drives agree on it; drives that disagree, hold another drive's format,
/// or have none are named and left out of rotation, never reformatted (F19).
///
/// ```swift
/// let found = paths.map { ($0, DriveFormatFile.read(drive: $0)) }
/// switch FormatAgreement.resolve(found) {
/// case .form: ...                                  // every drive is new: first start
/// case .agreed(let agreement): agreement.drives     // slot → path, plus agreement.excluded
/// case .refused(let reason): fatal(reason)          // names the drives that disagree
/// }
/// ```
public enum FormatAgreement {
    public struct Agreement: Sendable, Equatable {
        /// The deployment's format as the majority has it (slot fields are the first drive's).
        public let reference: DriveFormat
        /// The path of each agreeing drive, by its driveUUID.
        public let drives: [String: String]
        /// Drives left out of rotation, each with why.
        public let excluded: [(path: String, reason: String)]

        public static func == (a: Agreement, b: Agreement) -> Bool {
            a.reference == b.reference && a.drives == b.drives
                && a.excluded.map(\.path) == b.excluded.map(\.path) && a.excluded.map(\.reason) == b.excluded.map(\.reason)
        }
    }

    public enum Resolution: Sendable, Equatable {
        /// No drive has a format and every one is readable: form the deployment now.
        case form
        case agreed(Agreement)
        case refused(String)
    }

    public static func resolve(_ found: [(path: String, found: DriveFormatFile.Found)]) -> Resolution {
        let total = found.count
        guard total > 0 else { return .refused("no drives are configured") }
        let formatted = found.compactMap { entry -> (path: String, format: DriveFormat)? in
            if case .formatted(let format) = entry.found { return (entry.path, format) } else { return nil }
        }
        if formatted.isEmpty {
            let unreadable = found.filter { if case .unreadable = $0.found { return true } else { return false } }
            guard unreadable.isEmpty else {
                return .refused("cannot form a new deployment: " + unreadable.map { describe($0) }.joined(separator: "; "))
            }
            return .form
        }
        // The format most drives share is the candidate; it must be held by a majority.
        var groups: [[(path: String, format: DriveFormat)]] = []
        for entry in formatted {
            if let index = groups.firstIndex(where: { $0[0].format.agrees(with: entry.format) }) {
                groups[index].append(entry)
            } else {
                groups.append([entry])
            }
        }
        let majority = groups.max { $0.count < $1.count }!
        let reference = majority[0].format
        var drives: [String: String] = [:]
        var excluded: [(path: String, reason: String)] = []
        let known = Set(reference.sets.flatMap { $0 })
        for entry in found {
            switch entry.found {
            case .formatted(let format) where format.agrees(with: reference):
                if !known.contains(format.driveUUID) {
                    excluded.append((entry.path, "its drive UUID \(format.driveUUID) is not in the deployment's set map"))
                } else if let other = drives[format.driveUUID] {
                    excluded.append((entry.path, "it holds the same drive UUID as \(other) (a copied drive?)"))
                } else {
                    drives[format.driveUUID] = entry.path
                }
            case .formatted(let format):
                excluded.append((entry.path, "it belongs to another deployment or layout (cluster \(format.clusterID), \(format.dataShards)+\(format.parityShards))"))
            case .unformatted:
                excluded.append((entry.path, "it has no format.json (a new or emptied drive; replace it with `stowage cluster replace-drive`)"))
            case .unreadable(let reason):
                excluded.append((entry.path, reason))
            }
        }
        guard drives.count * 2 > total else {
            let named = excluded.map { "\($0.path): \($0.reason)" }.joined(separator: "; ")
            return .refused("only \(drives.count) of \(total) drives agree on the deployment's format; a majority is needed. Disagreeing: \(named)")
        }
        return .agreed(Agreement(reference: reference, drives: drives, excluded: excluded))
    }

    private static func describe(_ entry: (path: String, found: DriveFormatFile.Found)) -> String {
        if case .unreadable(let reason) = entry.found { return "\(entry.path): \(reason)" }
        return entry.path
    }
}
