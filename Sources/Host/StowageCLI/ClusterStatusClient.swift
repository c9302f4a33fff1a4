import Foundation
import StowageCore
#if canImport(Glibc)
import Glibc
#endif

/// `GET /_stowage/cluster` over plain HTTP/1.1 with a blocking socket: enough for one small
/// JSON document, and it keeps an HTTP client library out of the server binary's start-up.
enum ClusterStatusClient {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    static func fetch(endpoint: String, authorization: String?, trust: HTTPSStatusClient.Trust = .system) async throws -> Data {
        if let url = URL(string: endpoint), url.scheme == "https", let host = url.host {
            return try await HTTPSStatusClient.fetch(host: host, port: url.port ?? 443, authorization: authorization, trust: trust)
        }
        guard let url = URL(string: endpoint), url.scheme == "http", let host = url.host else {
            throw Failed(description: "--endpoint must be an http:// or https:// URL, not \(endpoint)")
        }
        let port = url.port ?? 80
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            throw Failed(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failed(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw Failed(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var request = "GET /_stowage/cluster HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: application/json\r\nConnection: close\r\n"
        if let authorization { request += "Authorization: \(authorization)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw Failed(description: "cannot send the request: errno \(errno)")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while response.count < 16 << 20 {
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            response.append(contentsOf: buffer[0..<got])
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, response.count - 3)).first(where: { Array(response[$0..<$0 + 4]) == separator }) else {
            throw Failed(description: "\(endpoint) answered no HTTP response")
        }
        let head = String(decoding: response[..<end], as: UTF8.self)
        let body = Data(response[(end + 4)...])
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        guard status == 200 else {
            throw Failed(description: "\(endpoint) answered \(status): \(String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return body
    }
}

/// `stowage cluster status` as tables: the membership, the erasure sets, the drives.
enum ClusterStatusTable {
    static func render(_ status: ClusterStatus) throws -> String {
        var lines: [String] = []
        if let membership = status.membership {
            let register = membership.registerEpoch.map { ", register epoch \($0)" } ?? ""
            lines.append("cluster \(membership.clusterID), map epoch \(membership.epoch)\(register), seen from \(membership.local) (\(membership.standing))")
            lines.append("")
            lines += table(["NODE", "ADDRESS", "POOL", "LIVENESS"], membership.members.map { member in
                [member.id + (member.id == membership.local ? " *" : ""), member.address, member.pool.map(String.init) ?? "spare", member.liveness]
            })
            lines.append("")
        }
        lines += table(["SET", "POOL", "STATUS", "DRIVES ONLINE", "CODE"], status.sets.map { set in
            [String(set.index), set.pool.map(String.init) ?? "0", set.status, "\(set.drivesOnline)/\(set.drives)", "\(set.dataShards)+\(set.parityShards)"]
        })
        lines.append("")
        lines += table(["NODE", "DRIVE", "SET/SLOT", "STATE", "FREE", "ERRORS", "REASON"], status.drives.map { drive in
            [drive.node, drive.path, drive.set >= 0 ? "\(drive.set)/\(drive.slot)" : "-", drive.state,
             drive.freeBytes.map { String(format: "%.1f GiB", Double($0) / Double(1 << 30)) } ?? "-",
             drive.errors.map(String.init) ?? "-", drive.reason ?? ""]
        })
        return lines.joined(separator: "\n")
    }

    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
