import NIOCore
import StowageCore

/// The request body as the pipeline consumes it: a NIO async producer fed by the channel
/// handler, with backpressure (the socket is not read while the consumer is behind).
typealias BodyProducer = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyProducerDelegate
>

/// Tells the channel handler, on its event loop, when the body consumer wants more or is gone.
struct BodyProducerDelegate: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<S3HTTPHandler>
    let exchange: UInt64

    func produceMore() {
        let handler = self.handler
        let exchange = self.exchange
        handler.eventLoop.execute { handler.value.resumeReading(exchange: exchange) }
    }

    func didTerminate() {
        let handler = self.handler
        let exchange = self.exchange
        handler.eventLoop.execute { handler.value.bodyConsumerGone(exchange: exchange) }
    }
}

/// Wraps the producer so that the first demand sends `100 Continue` when the client asked
/// for it: a request refused before its body is read never makes the client send the body.
struct ContinueOnDemandBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    let producer: BodyProducer
    let sendContinue: (@Sendable () -> Void)?

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: BodyProducer.AsyncIterator
        var sendContinue: (@Sendable () -> Void)?

        mutating func next() async throws -> ByteBuffer? {
            if let send = sendContinue {
                sendContinue = nil
                send()
            }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator(), sendContinue: sendContinue)
    }
}

/// The connection closed before the request body was complete.
struct ConnectionClosedError: Error, CustomStringConvertible {
    var description: String { "the client closed the connection before the request body was complete" }
}
