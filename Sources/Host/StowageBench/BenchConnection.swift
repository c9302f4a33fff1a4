import NIOCore
import NIOHTTP1

/// One keep-alive connection issuing requests back to back, entirely on its event loop: the
/// client costs little enough that the server is what gets measured.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    struct Results: Sendable {
        var latenciesMicros: [UInt32] = []
        var bytes: Int64 = 0
        var errors = 0
        var statusCounts: [Int: Int] = [:]
    }

    private let next: @Sendable () -> (HTTPRequestHead, ByteBuffer?)?
    private let deadline: NIODeadline
    private let done: EventLoopPromise<Results>
    private var results = Results()
    private var started = NIODeadline.now()
    private var status = 0
    private var isHead = false

    init(next: @escaping @Sendable () -> (HTTPRequestHead, ByteBuffer?)?, deadline: NIODeadline, done: EventLoopPromise<Results>) {
        self.next = next
        self.deadline = deadline
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
    }

    private func send(context: ChannelHandlerContext) {
        guard NIODeadline.now() < deadline, let (head, body) = next() else {
            done.succeed(results)
            context.close(promise: nil)
            return
        }
        isHead = head.method == .HEAD
        started = .now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(let buffer):
            results.bytes += Int64(buffer.readableBytes)
        case .end:
            let elapsed = NIODeadline.now() - started
            results.latenciesMicros.append(UInt32(clamping: elapsed.nanoseconds / 1000))
            results.statusCounts[status, default: 0] += 1
            if status >= 300 { results.errors += 1 }
            send(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(results)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        results.errors += 1
        done.succeed(results)
        context.close(promise: nil)
    }
}
