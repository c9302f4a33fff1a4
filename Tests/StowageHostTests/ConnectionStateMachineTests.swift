import NIOCore
import NIOHTTP1
@testable import Stowage
import Testing

/// The connection rules, fed events directly: no channel, no socket.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func machine(timeout: TimeAmount = .seconds(10), maxPipelinedParts: Int = 64) -> Machine {
        var limits = Machine.Limits(requestTimeout: timeout)
        limits.maxPipelinedParts = maxPipelinedParts
        return Machine(limits: limits, now: t0)
    }

    func head(_ method: HTTPMethod = .GET, _ uri: String = "/b/k", version: HTTPVersion = .http1_1,
              _ headers: [(String, String)] = []) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders([("Host", "localhost")] + headers)))
    }

    func head(_ method: HTTPMethod, version: HTTPVersion = .http1_1, _ headers: [(String, String)]) -> HTTPServerRequestPart {
        head(method, "/b/k", version: version, headers)
    }

    func head(version: HTTPVersion, _ headers: [(String, String)] = []) -> HTTPServerRequestPart {
        head(.GET, "/b/k", version: version, headers)
    }

    func body(_ text: String) -> HTTPServerRequestPart { .body(ByteBuffer(string: text)) }

    /// Starts an exchange and returns its start.
    func start(_ machine: inout Machine, _ part: HTTPServerRequestPart) throws -> Machine.ExchangeStart {
        guard case .start(let start) = machine.receive(part, now: t0) else { throw Unexpected() }
        return start
    }

    func ended(_ action: Machine.InboundAction) throws -> Machine.BodyEnd {
        guard case .ended(let end) = action else { throw Unexpected() }
        return end
    }

    struct Unexpected: Error {}

    /// `#expect` without expression capture: its macro cannot call the machine's mutating methods.
    func check(_ condition: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(condition, sourceLocation: sourceLocation)
    }

    @Test("a GET runs, is answered, and the connection stays open")
    func simpleExchange() throws {
        var m = machine()
        let s = try start(&m, head())
        check(s.body == .none && s.id == 1 && !s.continueNow && !s.continueOnDemand)
        let end = try ended(m.receive(.end(nil), now: t0))
        check(!end.finishStream && !end.finishesExchange && end.collected == nil)
        let framingStarted = m.responseStarting(exchange: 1, now: t0)
        let framing = try #require(framingStarted)
        check(framing.keepAlive && !framing.isHead && !framing.finishStream)
        check(m.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.keepAlive))
        check(m.exchange == nil)
        check(m.nextPipelined(now: t0) == nil)
    }

    @Test("small bodies are collected and handed over at the end; large and chunked ones stream")
    func bodyPlans() throws {
        var m = machine()
        let s = try start(&m, head(.PUT, [("Content-Length", "5")]))
        check(s.body == .collect)
        guard case .counted(3) = m.receive(body("hel"), now: t0), case .counted(2) = m.receive(body("lo"), now: t0) else { throw Unexpected() }
        let end = try ended(m.receive(.end(nil), now: t0))
        check(end.collected.map { String(buffer: $0) } == "hello")

        var large = machine()
        check(try start(&large, head(.PUT, [("Content-Length", "\(65 * 1024)")])).body == .stream)
        guard case .forward(let bytes) = large.receive(body("abc"), now: t0) else { throw Unexpected() }
        check(String(buffer: bytes) == "abc")
        check(try ended(large.receive(.end(nil), now: t0)).finishStream)

        var chunked = machine()
        check(try start(&chunked, head(.PUT, [("Transfer-Encoding", "chunked")])).body == .stream)
        var empty = machine()
        check(try start(&empty, head(.PUT, [("Content-Length", "0")])).body == .none)
    }

    @Test("reads pause while the body stream is full and resume when its consumer wants more")
    func backpressure() throws {
        var m = machine()
        _ = try start(&m, head(.PUT, [("Content-Length", "1000000")]))
        check(m.readRequested())
        m.bodyStreamFull()
        check(!m.readRequested())
        check(!m.bodyConsumerWantsMore(exchange: 99, now: t0))
        check(m.bodyConsumerWantsMore(exchange: 1, now: t0))
        check(m.readRequested())
    }

    @Test("pipelined requests wait for the exchange in progress, then run in order")
    func pipelining() throws {
        var m = machine()
        _ = try start(&m, head(.GET, "/b/one"))
        _ = m.receive(.end(nil), now: t0)
        guard case .none = m.receive(head(.GET, "/b/two"), now: t0), case .none = m.receive(.end(nil), now: t0),
              case .none = m.receive(head(.GET, "/b/three"), now: t0) else { throw Unexpected() }
        _ = m.responseStarting(exchange: 1, now: t0)
        check(m.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.keepAlive))
        guard case .start(let two) = m.nextPipelined(now: t0) else { throw Unexpected() }
        check(two.head.uri == "/b/two" && two.id == 2)
        guard case .ended = m.nextPipelined(now: t0) else { throw Unexpected() }
        // The third request waits until the second is answered.
        check(m.nextPipelined(now: t0) == nil)
        _ = m.responseStarting(exchange: 2, now: t0)
        check(m.responseWritten(exchange: 2, succeeded: true, now: t0) == .finished(.keepAlive))
        guard case .start(let three) = m.nextPipelined(now: t0) else { throw Unexpected() }
        check(three.head.uri == "/b/three")
    }

    @Test("too many pipelined parts stop reading until they are served")
    func pipelineLimit() throws {
        var m = machine(maxPipelinedParts: 4)
        _ = try start(&m, head())
        _ = m.receive(.end(nil), now: t0)
        for index in 0..<2 {
            _ = m.receive(head(.GET, "/b/\(index)"), now: t0)
            _ = m.receive(.end(nil), now: t0)
        }
        check(!m.readRequested())
        _ = m.responseStarting(exchange: 1, now: t0)
        check(m.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.keepAlive))
        while m.nextPipelined(now: t0) != nil {}
        // One request was taken up; two parts are left, fewer than half the limit is not yet true.
        check(!m.pipelineServed(now: t0))
        _ = m.responseStarting(exchange: 2, now: t0)
        _ = m.responseWritten(exchange: 2, succeeded: true, now: t0)
        while m.nextPipelined(now: t0) != nil {}
        check(m.pipelineServed(now: t0))
    }

    @Test("100 Continue: on demand for streamed bodies, at once otherwise, never twice or after the answer")
    func expectContinue() throws {
        var streamed = machine()
        let s = try start(&streamed, head(.PUT, [("Content-Length", "1000000"), ("Expect", "100-continue")]))
        check(s.continueOnDemand && !s.continueNow)
        check(streamed.continueWanted(exchange: 1) == .http1_1)
        check(streamed.continueWanted(exchange: 1) == nil)

        var collected = machine()
        check(try start(&collected, head(.PUT, [("Content-Length", "10"), ("Expect", "100-continue")])).continueNow)

        // Refused before the body was asked for: no 100, and the connection closes after the answer.
        var refused = machine()
        _ = try start(&refused, head(.PUT, [("Content-Length", "1000000"), ("Expect", "100-continue")]))
        let framingStarted = refused.responseStarting(exchange: 1, now: t0)
        let framing = try #require(framingStarted)
        check(!framing.keepAlive && framing.finishStream)
        check(refused.continueWanted(exchange: 1) == nil)
    }

    @Test("an early answer drains a small remaining body and keeps the connection")
    func earlyAnswerSmallBody() throws {
        var m = machine()
        _ = try start(&m, head(.PUT, [("Content-Length", "100000")]))
        let framingStarted = m.responseStarting(exchange: 1, now: t0)
        let framing = try #require(framingStarted)
        check(framing.keepAlive && framing.finishStream)
        check(m.responseWritten(exchange: 1, succeeded: true, now: t0) == .none)
        guard case .counted(4) = m.receive(body("rest"), now: t0) else { throw Unexpected() }
        let end = try ended(m.receive(.end(nil), now: t0))
        check(end.finishesExchange && !end.finishStream)
        check(m.finishExchange(now: t0) == .keepAlive)
    }

    @Test("an early answer to a large body closes and lingers, dropping what still arrives")
    func earlyAnswerLargeBody() throws {
        var m = machine()
        _ = try start(&m, head(.PUT, [("Content-Length", "\(10 * 1024 * 1024)")]))
        let framingStarted = m.responseStarting(exchange: 1, now: t0)
        let framing = try #require(framingStarted)
        check(!framing.keepAlive)
        guard case .finished(.linger) = m.responseWritten(exchange: 1, succeeded: true, now: t0) else { throw Unexpected() }
        guard case .none = m.receive(body("more"), now: t0), case .none = m.receive(head(), now: t0) else { throw Unexpected() }
    }

    @Test("HTTP/1.0 closes unless it asks for keep-alive; Connection: close is honoured")
    func keepAliveRules() throws {
        var old = machine()
        _ = try start(&old, head(version: .http1_0))
        check(old.responseStarting(exchange: 1, now: t0)?.keepAlive == false)
        var asked = machine()
        _ = try start(&asked, head(version: .http1_0, [("Connection", "keep-alive")]))
        check(asked.responseStarting(exchange: 1, now: t0)?.keepAlive == true)
        var closing = machine()
        _ = try start(&closing, head(.GET, [("Connection", "close")]))
        _ = closing.receive(.end(nil), now: t0)
        _ = closing.responseStarting(exchange: 1, now: t0)
        check(closing.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.close))
    }

    @Test("draining closes an idle connection at once and a busy one after its answer")
    func draining() throws {
        var idle = machine()
        check(idle.drain())
        var busy = machine()
        _ = try start(&busy, head())
        _ = busy.receive(.end(nil), now: t0)
        check(!busy.drain())
        check(busy.responseStarting(exchange: 1, now: t0)?.keepAlive == false)
        check(busy.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.close))
    }

    @Test("timeouts: idle, a stalled body, a stalled response; a paused read never times out")
    func timeouts() throws {
        var idle = machine(timeout: .seconds(10))
        check(idle.checkTimeouts(now: t0 + .seconds(5), bufferedOutbound: { nil }) == .none)
        check(idle.checkTimeouts(now: t0 + .seconds(11), bufferedOutbound: { nil }) == .close)

        var stalled = machine(timeout: .seconds(10))
        _ = try start(&stalled, head(.PUT, [("Content-Length", "1000000")]))
        check(stalled.checkTimeouts(now: t0 + .seconds(11), bufferedOutbound: { nil }) == .requestTimeout)

        var paused = machine(timeout: .seconds(10))
        _ = try start(&paused, head(.PUT, [("Content-Length", "1000000")]))
        paused.bodyStreamFull()
        check(paused.checkTimeouts(now: t0 + .seconds(60), bufferedOutbound: { nil }) == .none)

        var reading = machine(timeout: .seconds(10))
        _ = try start(&reading, head())
        _ = reading.receive(.end(nil), now: t0)
        _ = reading.responseStarting(exchange: 1, now: t0)
        reading.responseBytesEnqueued(100_000_000)
        // The client takes 20 KiB every 5 s: above the floor (10 KiB per 10 s), so it stays.
        for step in 1...4 {
            let now = t0 + .seconds(Int64(step) * 5)
            check(reading.checkTimeouts(now: now, bufferedOutbound: { 100_000_000 - Int64(step) * 20_480 }) == .none)
        }
        check(reading.checkTimeouts(now: t0 + .seconds(31), bufferedOutbound: { 100_000_000 - 4 * 20_480 }) == .close)
    }

    @Test("an error answer ends the connection: later parts are dropped")
    func errorAnswer() throws {
        var m = machine()
        _ = try start(&m, head(.PUT, [("Content-Length", "1000000")]))
        check(m.answeringWithError(now: t0))
        guard case .none = m.receive(head(), now: t0) else { throw Unexpected() }
        check(m.responseStarting(exchange: 1, now: t0) == nil)
        // An answer the client never reads does not keep the connection forever.
        check(m.checkTimeouts(now: t0 + .seconds(5), bufferedOutbound: { nil }) == .none)
        check(m.checkTimeouts(now: t0 + .seconds(11), bufferedOutbound: { nil }) == .close)
        // A parse error after the answer does not write a second one.
        check(m.failed(parseError: true) == .none)
    }

    @Test("an error answer while pipelined requests are replayed stops the replay")
    func errorDuringReplay() throws {
        var m = machine()
        _ = try start(&m, head(.GET, "/b/one"))
        _ = m.receive(.end(nil), now: t0)
        for path in ["/b/two", "/b/three"] {
            _ = m.receive(head(.GET, path), now: t0)
            _ = m.receive(.end(nil), now: t0)
        }
        _ = m.responseStarting(exchange: 1, now: t0)
        check(m.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.keepAlive))
        guard case .start = m.nextPipelined(now: t0) else { throw Unexpected() }
        // The replayed head was refused (say, two Host headers): nothing behind it runs.
        _ = m.answeringWithError(now: t0)
        check(m.nextPipelined(now: t0) == nil)
    }

    @Test("a parse error is answered unless the response already began or a request before it still runs")
    func parseErrors() throws {
        var fresh = machine()
        check(fresh.failed(parseError: true) == .answer)
        var answering = machine()
        _ = try start(&answering, head())
        _ = answering.responseStarting(exchange: 1, now: t0)
        check(answering.failed(parseError: true) == .close)
        var other = machine()
        check(other.failed(parseError: false) == .close)
        // Bad bytes behind a request that still runs: it is answered first, then the connection
        // closes; the decoder's later errors change nothing and nothing more is read.
        var pipelined = machine()
        _ = try start(&pipelined, head())
        _ = pipelined.receive(.end(nil), now: t0)
        check(pipelined.failed(parseError: true) == .none)
        check(pipelined.failed(parseError: false) == .none)
        check(!pipelined.readRequested())
        check(pipelined.responseStarting(exchange: 1, now: t0)?.keepAlive == false)
        check(pipelined.responseWritten(exchange: 1, succeeded: true, now: t0) == .finished(.close))
    }

    @Test("an upgrade offer asks for the decoder to be resumed; CONNECT does not")
    func upgradeOffer() throws {
        var m = machine()
        _ = try start(&m, head(.GET, [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")]))
        check(try ended(m.receive(.end(nil), now: t0)).resumeDecoding)
        var connect = machine()
        let s = try start(&connect, head(.CONNECT, "localhost:443", [("Connection", "Upgrade"), ("Upgrade", "h2c")]))
        check(s.id == 1)
        check(try !ended(connect.receive(.end(nil), now: t0)).resumeDecoding)
        check(connect.responseStarting(exchange: 1, now: t0)?.keepAlive == false)
    }

    @Test("answers for an earlier exchange are ignored")
    func staleAnswers() throws {
        var m = machine()
        _ = try start(&m, head())
        _ = m.receive(.end(nil), now: t0)
        _ = m.responseStarting(exchange: 1, now: t0)
        _ = m.responseWritten(exchange: 1, succeeded: true, now: t0)
        _ = try start(&m, head())
        check(!m.isCurrent(1) && m.isCurrent(2))
        check(m.responseStarting(exchange: 1, now: t0) == nil)
        check(m.responseWritten(exchange: 1, succeeded: true, now: t0) == .none)
    }
}
