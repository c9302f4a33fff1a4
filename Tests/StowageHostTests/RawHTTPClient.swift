import Foundation
import NIOCore
import NIOPosix

/// A raw HTTP/1.1 connection for protocol-level tests: writes bytes as given, parses responses.
struct RawHTTPResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// One connection, open for the duration of `RawHTTPConnection.with(port:)`'s body.
final class RawHTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffer: [UInt8] = []

    private init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// Connects, runs `body`, and closes the connection when `body` returns.
    static func with<T: Sendable>(port: Int, _ body: (RawHTTPConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(RawHTTPConnection(inbound: inbound, outbound: outbound))
        }
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Reads one response. `headOnly` for HEAD requests and 1xx responses (no body).
    func readResponse(headOnly: Bool = false) async throws -> RawHTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            if let range = find(separator) { headerEnd = range; break }
            guard try await fill() else { throw ClientError.closed(String(decoding: buffer, as: UTF8.self)) }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        let status = Int(statusLine[1])!
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = RawHTTPResponse(status: status, headers: headers, body: [])
        if headOnly || status < 200 || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            while buffer.count < length { guard try await fill() else { throw ClientError.closed("short body") } }
            response.body = Array(buffer[..<length])
            buffer.removeFirst(length)
        } else {
            while try await fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// True once the server has closed the connection.
    func isClosedByServer() async throws -> Bool {
        while try await fill() {}
        return true
    }

    private func fill() async throws -> Bool {
        guard let chunk = try await inbound.next() else { return false }
        buffer.append(contentsOf: chunk.readableBytesView)
        return true
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for index in 0...(buffer.count - needle.count) where buffer[index..<index + needle.count].elementsEqual(needle) { return index }
        return nil
    }

    enum ClientError: Error { case closed(String) }
}
