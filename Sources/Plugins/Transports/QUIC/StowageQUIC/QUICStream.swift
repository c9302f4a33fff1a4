import HTTPTypes
import NIOCore
import StowageCore

/// One request's bidirectional stream on a connection, confined to the connection's event
/// loop. The dialling side sends the request and waits for the response's head; the
/// answering side reads the request's head, runs the handler, and sends its response.
final class QUICStream {
    let id: Int64
    /// The body this side sends (the request's, or the response's), once there is one.
    var outbound: OutboundBody?
    /// The body this side receives, from the peer's head on.
    var inbound: InboundBody?
    /// Bytes handed to `inbound` whose flow-control credit is not yet returned to the peer.
    var unconsumed = 0
    /// Body bytes read from the current batch of packets, handed to `inbound` in one piece
    /// once the batch is in (one wake-up of the reader per batch, not per packet).
    var arriving: ByteBuffer?
    /// The head as it arrives (pseudo-header fields first).
    var head: [(name: String, value: String)] = []
    var headBytes = 0
    /// The peer sent more than ``QUICConnection/maxHeadBytes`` of head: it is refused.
    var headTooLarge = false
    var headDone = false

    /// Dialling side: where the response's head goes.
    var response: EventLoopPromise<ClusterResponse>?
    /// The answering side: the handler's task, cancelled if the stream goes first.
    var handling: Task<Void, Never>?
    /// The pump reading the outbound body.
    var pump: Task<Void, Never>?

    init(id: Int64) { self.id = id }

    /// The stream is gone (closed or reset, or its connection lost): everything waiting on
    /// it learns how, and nothing is left to free later.
    func end(_ error: (any Error)?, peer: NodeID) {
        let failure = error ?? ClusterTransportError.outcomeUnknown(peer, reason: "the stream closed before its end")
        if let response {
            self.response = nil
            response.fail(failure)
        }
        if let inbound, !inbound.isComplete { inbound.fail(failure) }
        outbound?.discard(failure)
        pump?.cancel()
        handling?.cancel()
    }
}

/// How a request and a response travel as HTTP/3 heads: a POST to `/<verb>/<resource>`
/// (percent-encoded), the fields as header fields, and `content-length` when the body's
/// length is known (nghttp3 then checks the body against it).
enum HTTP3Head {
    static func request(_ request: ClusterRequest, authority: String) -> [(String, String)] {
        var head = [
            (":method", "POST"), (":scheme", "https"), (":authority", authority),
            (":path", "/" + escape(request.verb) + "/" + escape(request.resource)),
        ]
        append(request.fields, length: request.body.declaredLength, to: &head)
        return head
    }

    static func response(_ response: ClusterResponse) -> [(String, String)] {
        var head = [(":status", String(response.status.code))]
        append(response.fields, length: response.body.declaredLength, to: &head)
        return head
    }

    private static func append(_ fields: HTTPFields, length: Int64?, to head: inout [(String, String)]) {
        // HTTP/3 forbids connection-specific fields (a peer's nghttp3 would refuse the message).
        for field in fields where !forbidden.contains(field.name.canonicalName) {
            head.append((field.name.canonicalName, field.value))
        }
        if let length { head.append(("content-length", String(length))) }
    }

    private static let forbidden: Set<String> = ["content-length", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"]

    /// The request a head describes, or nil when it is not one of ours.
    static func parseRequest(_ head: [(name: String, value: String)]) -> (verb: String, resource: String, fields: HTTPFields, length: Int64?)? {
        guard let path = head.first(where: { $0.name == ":path" })?.value, path.hasPrefix("/") else { return nil }
        let parts = path.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let verb = unescape(parts[0]), let resource = unescape(parts[1]) else { return nil }
        let (fields, length) = regular(head)
        return (verb, resource, fields, length)
    }

    static func parseResponse(_ head: [(name: String, value: String)]) -> (status: HTTPResponse.Status, fields: HTTPFields, length: Int64?)? {
        guard let code = head.first(where: { $0.name == ":status" }).flatMap({ Int($0.value) }), (200...599).contains(code) else { return nil }
        let (fields, length) = regular(head)
        return (HTTPResponse.Status(code: code), fields, length)
    }

    private static func regular(_ head: [(name: String, value: String)]) -> (HTTPFields, Int64?) {
        var fields = HTTPFields()
        var length: Int64?
        for (name, value) in head where !name.hasPrefix(":") {
            if name == "content-length" {
                length = Int64(value)
            } else if let field = HTTPField.Name(name) {
                fields.append(HTTPField(name: field, value: value))
            }
        }
        return (fields, length)
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
