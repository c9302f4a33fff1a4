public import NIOCore

/// A response body as a transport hands it to the sender: a failure while it streams reaches
/// the reader as ``ClusterTransportError/outcomeUnknown(_:reason:)`` (the handler had started,
/// so the request may have been applied), like every failure after a request was delivered.
/// `passingCancellation`: the reader's own cancellation stays a `CancellationError`.
///
/// ```swift
/// response.body = S3Body(stream: OutcomeUnknownOnFailure(base: response.body, peer: node),
///                        length: response.body.declaredLength)
/// ```
public struct OutcomeUnknownOnFailure: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error
    let base: S3Body
    let peer: NodeID
    let passingCancellation: Bool

    public init(base: S3Body, peer: NodeID, passingCancellation: Bool = false) {
        self.base = base
        self.peer = peer
        self.passingCancellation = passingCancellation
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: S3Body.AsyncIterator
        let peer: NodeID
        let passingCancellation: Bool

        public mutating func next() async throws -> ByteBuffer? {
            do {
                return try await base.next()
            } catch let error as ClusterTransportError {
                throw error
            } catch let error as CancellationError where passingCancellation {
                throw error
            } catch {
                throw ClusterTransportError.outcomeUnknown(peer, reason: "the response body failed: \(error)")
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), peer: peer, passingCancellation: passingCancellation)
    }
}
