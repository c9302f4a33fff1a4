import Foundation
import Stowage
import StowageCore
import Testing

/// Open descriptors of this process (the server runs in-process).
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

@Suite("Slow and stalled clients are disconnected", .serialized, .timeLimit(.minutes(1)))
struct TimeoutTests {
    static func configure(_ configuration: inout StowageConfiguration) {
        // Long enough that a client starved of CPU by the other suites (the cluster conformance
        // run) still sends its request's first bytes in time; short against the 5 s bounds below.
        configuration.limits.requestTimeout = 1_000
    }

    @Test("a request trickled byte by byte is cut off")
    func slowHeaders() async throws {
        try await withServer(Self.configure) { server, _ in
            let started = ContinuousClock.now
            let closed = try await RawHTTPConnection.with(port: server.port) { connection -> Bool in
                for byte in "GET / HTTP/1.1\r\nHost: loc".utf8 {
                    do {
                        try await connection.send([byte])
                    } catch {
                        return true  // The server closed the connection under us.
                    }
                    try await Task.sleep(for: .milliseconds(100))
                    if ContinuousClock.now - started > .seconds(5) { break }
                }
                return try await connection.isClosedByServer()
            }
            #expect(closed)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test("a body that stops arriving gets 400 RequestTimeout and leaves no temp file")
    func stalledBody() async throws {
        try await withServer(Self.configure) { server, directory in
            try await server.createBucket("bucket")
            let response = try await RawHTTPConnection.with(port: server.port) { connection in
                try await connection.send("PUT /bucket/stalled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n0123456789")
                return try await connection.readResponse()
            }
            #expect(response.status == 400)
            #expect(response.text.contains("<Code>RequestTimeout</Code>"))
            var leftovers = ["pending"]
            for _ in 0..<100 {
                leftovers = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/.stowage/tmp")) ?? []
                if leftovers.isEmpty { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("an idle keep-alive connection is closed")
    func idleConnection() async throws {
        try await withServer(Self.configure) { server, _ in
            let closed = try await RawHTTPConnection.with(port: server.port) { connection -> Bool in
                try await connection.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                _ = try await connection.readResponse()
                return try await connection.isClosedByServer()
            }
            #expect(closed)
        }
    }

    @Test("a client that stops reading a large download is disconnected without leaking descriptors")
    func stalledReader() async throws {
        try await withServer(Self.configure) { server, directory in
            try await server.createBucket("bucket")
            // 64 MiB: far more than socket buffers hold, so the server must wait on the client.
            let size = 64 * 1024 * 1024
            try await RawHTTPConnection.with(port: server.port) { connection in
                try await connection.send("PUT /bucket/big HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(size)\r\n\r\n")
                let block = [UInt8](repeating: 0x61, count: 1 << 20)
                for _ in 0..<64 { try await connection.send(block) }
                #expect(try await connection.readResponse().status == 200)
            }
            let baseline = openDescriptorCount()
            let started = ContinuousClock.now
            try await RawHTTPConnection.with(port: server.port) { connection in
                try await connection.send("GET /bucket/big HTTP/1.1\r\nHost: localhost\r\n\r\n")
                // Read nothing for a while: the server must give up on us.
                try await Task.sleep(for: .seconds(2))
                let drained = try await connection.isClosedByServer()
                #expect(drained)
            }
            #expect(ContinuousClock.now - started < .seconds(20))
            var now = openDescriptorCount()
            for _ in 0..<100 where now > baseline {
                try await Task.sleep(for: .milliseconds(20))
                now = openDescriptorCount()
            }
            #expect(now <= baseline, "descriptors before \(baseline), after \(now)")
        }
    }
}
