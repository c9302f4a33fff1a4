/// How a backend is doing, with a line per component (the index, each drive, each node), as
/// `/_stowage/health/ready`, the management `clusterStatus` and the metrics report it.
///
/// - `ok`: everything serves.
/// - `degraded`: requests are served, but with less margin than configured (a drive or node
///   lost within parity, a nearly full disk).
/// - `unavailable`: requests cannot be served (storage not open, quorum lost).
///
/// ```swift
/// func health() async -> BackendHealth {
///     BackendHealth(components: [.init(name: "index", status: indexOpen ? .ok : .unavailable)])
/// }
/// ```
public struct BackendHealth: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, Comparable, CaseIterable {
        case ok, degraded, unavailable

        public static func < (lhs: Status, rhs: Status) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public struct Component: Sendable, Hashable {
        public var name: String
        public var status: Status
        /// A short explanation for anything not `ok` (`"2 of 6 drives offline"`).
        public var detail: String?

        public init(name: String, status: Status, detail: String? = nil) {
            self.name = name
            self.status = status
            self.detail = detail
        }
    }

    public var components: [Component]

    /// The worst status of any component; `ok` when there are none.
    public var status: Status { components.map(\.status).max() ?? .ok }

    public init(components: [Component]) { self.components = components }

    public static let ok = BackendHealth(components: [])

    /// A JSON object: `{"status": "...", "components": [{"name", "status", "detail"}]}`.
    public var json: String {
        func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        let parts = components.map { component in
            "{\"name\":\(quoted(component.name)),\"status\":\"\(component.status.rawValue)\""
                + (component.detail.map { ",\"detail\":\(quoted($0))" } ?? "") + "}"
        }
        return "{\"status\":\"\(status.rawValue)\",\"components\":[\(parts.joined(separator: ","))]}"
    }
}
