import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `GET /_stowage/cluster` over HTTPS, for a node that serves S3 with TLS: the server is
/// verified against the system's roots, a CA file (`--ca-certificate`, e.g. the server's own
/// self-signed certificate), or not at all (`--insecure`).
enum HTTPSStatusClient {
    enum Trust {
        case system
        case certificateFile(String)
        case none
    }

    static func fetch(host: String, port: Int, authorization: String?, trust: Trust) async throws -> Data {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch trust {
        case .system: break
        case .certificateFile(let path): tls.trustRoots = .file(path)
        case .none: tls.certificateVerification = .none
        }
        let context = try NIOSSLContext(configuration: tls)
        // SNI takes names only; for an address NIOSSL checks the certificate's IP entries.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let serverName = isAddress ? nil : host
        // One loop for the connection and the promise its handler completes.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = loop.makePromise(of: (HTTPResponseStatus, Data).self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(answer: answer))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            answer.fail(error)
            throw ClusterStatusClient.Failed(description: "cannot connect to \(host):\(port): \(error)")
        }
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var headers = HTTPHeaders([("Host", authority), ("Accept", "application/json"), ("Connection", "close")])
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/_stowage/cluster", headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) {
            answer.fail(ClusterStatusClient.Failed(description: "\(host):\(port) did not answer within 10 s"))
        }
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        let (status, body) = try await answer.futureResult.get()
        guard status == .ok else {
            throw ClusterStatusClient.Failed(description: "https://\(host):\(port) answered \(status.code): \(String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return body
    }

    /// Collects one response (head and body, up to 16 MiB); a connection that ends or fails
    /// first fails it.
    final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        let answer: EventLoopPromise<(HTTPResponseStatus, Data)>
        var status: HTTPResponseStatus?
        var body = Data()

        init(answer: EventLoopPromise<(HTTPResponseStatus, Data)>) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = head.status
            case .body(let buffer):
                guard body.count + buffer.readableBytes <= 16 << 20 else {
                    answer.fail(ClusterStatusClient.Failed(description: "the status is larger than 16 MiB"))
                    return
                }
                body.append(contentsOf: buffer.readableBytesView)
            case .end: answer.succeed((status ?? .internalServerError, body))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            let hint: String
            switch error {
            case NIOSSLError.handshakeFailed:
                hint = "the server's certificate is not trusted (pass --ca-certificate with its certificate or CA, or --insecure): "
            case let extra as NIOSSLExtraError where extra == .failedToValidateHostname:
                hint = "the server's certificate does not name this host (use the name or address it was issued for, or --insecure): "
            default:
                hint = ""
            }
            answer.fail(ClusterStatusClient.Failed(description: hint + "\(error)"))
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            answer.fail(ClusterStatusClient.Failed(description: "the connection closed before the answer ended"))
        }
    }
}
