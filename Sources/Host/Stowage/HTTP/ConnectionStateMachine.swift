import NIOCore
import NIOHTTP1

/// The rules of one HTTP/1.1 connection, with no I/O: which exchange is current, whether the
/// socket may be read, what happens to body bytes, when `100 Continue` goes out, how a response
/// is framed, what pipelined requests wait for, and when the connection lingers, drains or
/// times out. `S3HTTPHandler` feeds it channel events and performs the actions it returns, so
/// every rule here is tested by feeding events (see `ConnectionStateMachineTests`).
///
/// ```swift
/// var machine = ConnectionStateMachine(limits: .init(requestTimeout: .seconds(300)), now: .now())
/// if case .start(let start) = machine.receive(.head(head), now: .now()) { /* build and run the request */ }
/// ```
struct ConnectionStateMachine {
    struct Limits: Sendable {
        /// Bodies up to this size (with a Content-Length) are collected before the request runs:
        /// for small objects the async body stream costs more than the bytes it carries.
        var collectedBodyLimit: Int64 = 64 * 1024
        /// A response sent before the body was read drains at most this much of it to keep the
        /// connection open.
        var drainLimit: Int64 = 1024 * 1024
        /// Pipelined parts held while an exchange runs; past this the socket is not read.
        var maxPipelinedParts = 64
        /// Body bytes of pipelined requests held at most: a client pipelining megabytes behind
        /// a slow request costs its kernel buffers, not our memory.
        var maxPipelinedBytes = 64 * 1024
        /// `limits.requestTimeout`: how long the connection may wait on its peer.
        var requestTimeout: TimeAmount
    }

    /// How a request's body reaches it.
    enum BodyPlan: Equatable {
        case none
        /// Collected into one buffer; the request starts once the body is complete.
        case collect
        /// Streamed to the request as it arrives, with backpressure.
        case stream
    }

    /// A request head arrived: the handler builds the request and runs it (or, for a collected
    /// body, holds it until `.ended` hands over the body).
    struct ExchangeStart {
        let id: UInt64
        let head: HTTPRequestHead
        let body: BodyPlan
        let contentLength: Int64?
        /// `Expect: 100-continue` with a streamed body: send it when the body is first read, so a
        /// request refused before that never makes the client send its body.
        let continueOnDemand: Bool
        /// `Expect: 100-continue` with no body or a collected one: send it now (see `begin`).
        let continueNow: Bool
    }

    /// A request body ended.
    struct BodyEnd {
        let id: UInt64
        /// Finish the body stream the request reads.
        let finishStream: Bool
        /// NIO's decoder stopped after an upgrade offer: replace it, then go on.
        let resumeDecoding: Bool
        /// The collected body: the held request runs with it now.
        let collected: ByteBuffer?
        /// The response is already out: call `finishExchange` (after resuming decoding).
        let finishesExchange: Bool
    }

    enum InboundAction {
        /// Nothing to do (held for later, or dropped).
        case none
        case start(ExchangeStart)
        /// Body bytes of the current exchange, collected or dropped here: count them.
        case counted(Int)
        /// Body bytes for the request's body stream.
        case forward(ByteBuffer)
        case ended(BodyEnd)
    }

    /// How the connection goes on after an exchange.
    enum ExchangeEnd: Equatable {
        /// Keep the connection: serve the pipelined parts (`nextPipelined`), then `pipelineServed`.
        case keepAlive
        case close
        /// The client may still be sending a body that will not be read: half-close, drop what
        /// arrives, close when the client does or after the linger time. Read now if `readNow`.
        case linger(readNow: Bool)
    }

    /// How to frame a response head, decided when it starts.
    struct ResponseFraming: Equatable {
        let version: HTTPVersion
        let keepAlive: Bool
        let isHead: Bool
        /// The request body is no longer wanted: finish its stream.
        let finishStream: Bool
        /// Reads were paused for the body: read again now.
        let readNow: Bool
    }

    enum FailureAction: Equatable {
        case none
        /// Answer with an S3 error (the connection closes after it).
        case answer
        case close
    }

    enum AfterResponse: Equatable {
        case none
        case close
        case finished(ExchangeEnd)
    }

    enum TimeoutAction: Equatable {
        case none
        case close
        /// The body stopped arriving before the response started: answer 400 RequestTimeout.
        case requestTimeout
    }

    /// One request/response on the connection.
    struct Exchange {
        let id: UInt64
        let version: HTTPVersion
        let isHead: Bool
        var keepAlive: Bool
        /// The request reads its body through a stream that is still open.
        var streaming: Bool
        var collected: ByteBuffer?
        var bodyComplete = false
        var responseStarted = false
        var responseComplete = false
        let expectsContinue: Bool
        var continueSent = false
        /// The response went out before the body was read: drop the rest of the body.
        var discardingBody = false
        /// Body bytes the client has yet to send: `nil` for a chunked body.
        var unreadBody: Int64?
        /// The request offered a protocol upgrade: NIO's decoder stops after it and is replaced.
        let offersUpgrade: Bool
    }

    // The state below is changed only by the machine's own methods (split over two files, so
    // not `private`); the handler reads it.
    let limits: Limits
    var exchange: Exchange?
    var counter: UInt64 = 0
    var readPaused = false
    var readPending = false
    /// Parts of pipelined requests that arrived while an exchange was still running; served in
    /// order once it finishes.
    /// Held parts are taken from `pipelinedHead` on (a queue without per-connection allocation
    /// and without the quadratic cost of `removeFirst`: one read can hold thousands of parts).
    var pipelined: [HTTPServerRequestPart] = []
    var pipelinedHead = 0
    var pipelinedBytes = 0
    var pipelinedPaused = false
    /// The response is out and the connection is half-closed; inbound bytes are dropped.
    var lingering = false
    /// The server is stopping: finish the exchange in progress, then close.
    var draining = false
    /// The connection is closing (a final error answer, or closed); inbound parts are dropped.
    var closing = false
    /// The request decoder failed behind a running request: that one is answered, then the
    /// connection closes; nothing more is read.
    var decoderFailed = false
    var inbound: ProgressClock
    var outbound: ProgressClock
    /// Body bytes of the current response handed to the channel, to tell from what is still
    /// buffered how much has gone out.
    var outboundEnqueued: Int64 = 0
    var idleSince: NIODeadline

    init(limits: Limits, now: NIODeadline) {
        self.limits = limits
        self.inbound = ProgressClock(timeout: limits.requestTimeout, now: now)
        self.outbound = ProgressClock(timeout: limits.requestTimeout, now: now)
        self.idleSince = now
    }

    /// Whether `id` is the exchange in progress (answers for an earlier one are dropped).
    func isCurrent(_ id: UInt64) -> Bool { exchange?.id == id }

    // MARK: Inbound

    /// A decoded request part arrived.
    mutating func receive(_ part: HTTPServerRequestPart, now: NIODeadline) -> InboundAction {
        if lingering || closing { return .none }
        // A part of the next request while this one is still being answered: hold it.
        if pipelinedCount > 0 || exchange?.bodyComplete == true {
            pipelined.append(part)
            if case .body(let bytes) = part { pipelinedBytes += bytes.readableBytes }
            if pipelinedCount >= limits.maxPipelinedParts || pipelinedBytes >= limits.maxPipelinedBytes {
                pipelinedPaused = true
                readPaused = true
            }
            return .none
        }
        return process(part, now: now)
    }

    /// After `finishExchange` returned `.keepAlive`: the next held part to act on, up to the
    /// next request whose body is complete.
    mutating func nextPipelined(now: NIODeadline) -> InboundAction? {
        guard !lingering, !closing, pipelinedCount > 0, exchange?.bodyComplete != true else { return nil }
        let part = pipelined[pipelinedHead]
        pipelinedHead += 1
        if pipelinedHead == pipelined.count {
            pipelined.removeAll(keepingCapacity: true)
            pipelinedHead = 0
        }
        if case .body(let bytes) = part { pipelinedBytes -= bytes.readableBytes }
        return process(part, now: now)
    }

    var pipelinedCount: Int { pipelined.count - pipelinedHead }

    /// After serving pipelined parts: whether reading resumes now.
    mutating func pipelineServed(now: NIODeadline) -> Bool {
        guard pipelinedPaused, pipelinedCount < limits.maxPipelinedParts / 2, pipelinedBytes < limits.maxPipelinedBytes / 2 else {
            return false
        }
        pipelinedPaused = false
        return unpauseReads(now: now)
    }

    private mutating func process(_ part: HTTPServerRequestPart, now: NIODeadline) -> InboundAction {
        switch part {
        case .head(let head):
            return .start(begin(head, now: now))
        case .body(let buffer):
            let count = buffer.readableBytes
            inbound.moved(Int64(count), now: now)
            // No local copy of the exchange here: it would share the collected buffer and make
            // every write below copy it.
            guard exchange != nil else { return .none }
            if let unread = exchange!.unreadBody { exchange!.unreadBody = unread - Int64(count) }
            if exchange!.discardingBody { return .counted(count) }
            if exchange!.collected != nil {
                exchange!.collected!.writeImmutableBuffer(buffer)
                return .counted(count)
            }
            return exchange!.streaming ? .forward(buffer) : .counted(count)
        case .end:
            guard let current = exchange else { return .none }
            exchange!.bodyComplete = true
            exchange!.streaming = false
            exchange!.collected = nil
            return .ended(BodyEnd(
                id: current.id, finishStream: current.streaming, resumeDecoding: current.offersUpgrade,
                collected: current.collected, finishesExchange: current.collected == nil && current.responseComplete
            ))
        }
    }

    private mutating func begin(_ head: HTTPRequestHead, now: NIODeadline) -> ExchangeStart {
        inbound.restart(now: now)
        outbound.restart(now: now)
        outboundEnqueued = 0
        counter &+= 1
        let contentLength = head.headers.first(name: "content-length").flatMap { Int64($0) }
        let chunked = head.headers.contains(name: "transfer-encoding")
        let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
        let plan: BodyPlan
        if let length = contentLength, !chunked {
            plan = length <= 0 ? .none : (length <= limits.collectedBodyLimit ? .collect : .stream)
        } else {
            plan = chunked ? .stream : .none
        }
        exchange = Exchange(
            id: counter, version: head.version, isHead: head.method == .HEAD,
            keepAlive: head.isKeepAlive && !draining && head.method != .CONNECT,
            streaming: plan == .stream,
            collected: plan == .collect ? ByteBufferAllocator().buffer(capacity: Int(contentLength ?? 0)) : nil,
            expectsContinue: expectsContinue, unreadBody: chunked ? nil : (contentLength ?? 0),
            offersUpgrade: Self.offersUpgrade(head)
        )
        // RFC 9110 lets a server skip 100 Continue when there is no body, but botocore then
        // reuses the final status it read early for later responses on the connection.
        return ExchangeStart(
            id: counter, head: head, body: plan, contentLength: contentLength,
            continueOnDemand: expectsContinue && plan == .stream, continueNow: expectsContinue && plan != .stream
        )
    }

    /// Whether NIO's decoder treats `head` as an upgrade offer (and stops parsing after it).
    /// CONNECT does too; it is answered (never with a tunnel) and the connection closed.
    static func offersUpgrade(_ head: HTTPRequestHead) -> Bool {
        guard head.method != .CONNECT, head.headers.contains(name: "upgrade") else { return false }
        return head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// The decoder could not be resumed after an upgrade offer: this answer ends the connection.
    mutating func cannotContinueDecoding() { exchange?.keepAlive = false }

    // MARK: Reading and the body consumer

    /// The channel asks to read: whether to pass the read on (not while paused for backpressure).
    mutating func readRequested() -> Bool {
        if readPaused {
            readPending = true
            return false
        }
        return true
    }

    /// The body stream is full: stop reading until the consumer wants more.
    mutating func bodyStreamFull() { readPaused = true }

    /// The body stream refused bytes (its consumer is gone): drop the rest of the body.
    mutating func bodyStreamDropped() { exchange?.discardingBody = true }

    /// The consumer wants more: whether to read now.
    mutating func bodyConsumerWantsMore(exchange id: UInt64, now: NIODeadline) -> Bool {
        guard isCurrent(id) else { return false }
        return unpauseReads(now: now)
    }

    /// The consumer stopped iterating the body (finished early or failed): drop what still
    /// comes. Returns whether to read now.
    mutating func bodyConsumerGone(exchange id: UInt64, now: NIODeadline) -> Bool {
        guard let current = exchange, current.id == id else { return false }
        if !current.bodyComplete { exchange!.discardingBody = true }
        exchange!.streaming = false
        return unpauseReads(now: now)
    }

    mutating func unpauseReads(now: NIODeadline) -> Bool {
        if pipelinedPaused { return false }
        // The peer's clock starts again when we ask for its bytes again.
        if readPaused { inbound.completed(now: now) }
        readPaused = false
        guard readPending else { return false }
        readPending = false
        return true
    }
}
