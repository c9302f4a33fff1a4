import NIOCore
import NIOHTTP1

/// Responses, the end of exchanges, draining, failures and timeouts.
extension ConnectionStateMachine {
    /// Whether to write `100 Continue` for `id` now (once, and never after the response began).
    mutating func continueWanted(exchange id: UInt64) -> HTTPVersion? {
        guard let current = exchange, current.id == id, !current.continueSent, !current.responseStarted else { return nil }
        exchange!.continueSent = true
        return current.version
    }

    /// The response head for `id` is about to be written: how to frame it, or `nil` when `id`
    /// is no longer current.
    mutating func responseStarting(exchange id: UInt64, now: NIODeadline) -> ResponseFraming? {
        guard var current = exchange, current.id == id else { return nil }
        if current.expectsContinue && !current.continueSent {
            // A final answer to an Expect request without 100 Continue: the client will not send
            // the body, and some clients (botocore) misread later responses on this connection.
            current.keepAlive = false
        }
        var finishStream = false
        if !current.bodyComplete {
            // Reading gigabytes only to keep the connection is worse than a new connection
            // (S3 closes too): past a small remainder, the answer ends the connection.
            if current.unreadBody.map({ $0 > limits.drainLimit }) ?? true { current.keepAlive = false }
            if current.keepAlive { current.discardingBody = true }
            finishStream = current.streaming
            current.streaming = false
        }
        current.responseStarted = true
        exchange = current
        let readNow = unpauseReads(now: now)
        return ResponseFraming(
            version: current.version, keepAlive: current.keepAlive, isHead: current.isHead, finishStream: finishStream, readNow: readNow
        )
    }

    /// Response body bytes handed to the channel (the outbound timeout watches them leave).
    mutating func responseBytesEnqueued(_ count: Int64) { outboundEnqueued += count }

    /// A response body write completed: progress, whatever its size.
    mutating func responseWriteCompleted(now: NIODeadline) { outbound.completed(now: now) }

    /// The whole response for `id` was written (or failed).
    mutating func responseWritten(exchange id: UInt64, succeeded: Bool, now: NIODeadline) -> AfterResponse {
        guard let current = exchange, current.id == id else { return .none }
        guard succeeded else {
            closing = true
            return .close
        }
        exchange!.responseComplete = true
        // Otherwise the rest of the body is being discarded; its `.end` finishes the exchange.
        guard current.bodyComplete || !current.keepAlive else { return .none }
        return .finished(finishExchange(now: now))
    }

    /// The exchange in progress is over, response and body.
    mutating func finishExchange(now: NIODeadline) -> ExchangeEnd {
        // While draining, every connection closes after its exchange, even one whose response
        // had already started when the drain began.
        let keepAlive = (exchange?.keepAlive ?? false) && !draining
        let unreadBody = exchange.map { !$0.bodyComplete } ?? false
        exchange = nil
        idleSince = now
        guard keepAlive else {
            dropPipelined()
            guard unreadBody else {
                closing = true
                return .close
            }
            lingering = true
            pipelinedPaused = false
            return .linger(readNow: unpauseReads(now: now))
        }
        return .keepAlive
    }

    /// The server is stopping: whether to close now (no exchange in progress). Otherwise the
    /// exchange in progress is answered with `Connection: close`, then the connection closes.
    mutating func drain() -> Bool {
        draining = true
        dropPipelined()
        guard let current = exchange else {
            closing = true
            return true
        }
        if !current.responseStarted { exchange!.keepAlive = false }
        return false
    }

    /// A final error answer goes out (malformed request, timeout) and the connection closes
    /// after it: returns whether a body stream must be finished.
    mutating func answeringWithError(now: NIODeadline) -> Bool {
        let streaming = exchange?.streaming ?? false
        exchange = nil
        closing = true
        // If the answer never drains (the client reads nothing), the idle rule closes.
        idleSince = now
        dropPipelined()
        return streaming
    }

    /// The channel reported an error (the handler finishes any body stream).
    mutating func failed(parseError: Bool) -> FailureAction {
        // An error answer is on its way and closes the connection when written; the decoder
        // reports every later byte as an error too, and closing now could reset the answer.
        if closing || lingering || decoderFailed { return .none }
        exchange?.streaming = false
        guard parseError, exchange?.responseStarted != true else {
            closing = true
            return .close
        }
        if let current = exchange, current.bodyComplete {
            // The bad bytes belong to a request pipelined behind one that is still running:
            // answers go out in order, so that one finishes and then the connection closes.
            exchange!.keepAlive = false
            decoderFailed = true
            dropPipelined()
            pipelinedPaused = true
            readPaused = true
            return .none
        }
        return .answer
    }

    /// The channel closed: returns whether a body stream must be finished.
    mutating func closed() -> Bool {
        let streaming = exchange?.streaming ?? false
        exchange = nil
        closing = true
        return streaming
    }

    /// The periodic check of the timeout rules: waiting for a request (covers headers trickled
    /// byte by byte), a request body that stopped arriving while it is wanted, or a response the
    /// client stopped reading. Bodies and responses must move at least `ProgressClock`'s minimum
    /// within each period; time spent on our side (a slow disk, a long Complete) never counts.
    /// `bufferedOutbound`: response bytes the channel still holds, when it can tell (asked only
    /// while a response is being written).
    mutating func checkTimeouts(now: NIODeadline, bufferedOutbound: () -> Int64?) -> TimeoutAction {
        guard let current = exchange else {
            return now - idleSince > limits.requestTimeout ? .close : .none
        }
        let awaitingBody = !current.bodyComplete && (current.streaming || current.discardingBody || current.collected != nil) && !readPaused
        if awaitingBody, inbound.isStalled(now: now) {
            if current.responseStarted {
                exchange!.streaming = false
                closing = true
                return .close
            }
            exchange!.streaming = false
            return .requestTimeout
        }
        if current.responseStarted, !current.responseComplete {
            // Bytes leave a file region as the socket drains; what is no longer buffered went out.
            if let buffered = bufferedOutbound() { outbound.observe(total: outboundEnqueued - buffered, now: now) }
            if outbound.isStalled(now: now) {
                closing = true
                return .close
            }
        }
        return .none
    }

    private mutating func dropPipelined() {
        if !pipelined.isEmpty { pipelined.removeAll() }
        pipelinedHead = 0
        pipelinedBytes = 0
    }
}
