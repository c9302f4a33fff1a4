import Foundation

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Every regular file below the directory, relative paths.
    func files(under subpath: String = "") -> [String] {
        let root = subpath.isEmpty ? path : path + "/" + subpath
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var result: [String] = []
        while let item = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + item, isDirectory: &isDirectory), !isDirectory.boolValue {
                result.append(item)
            }
        }
        return result.sorted()
    }
}
