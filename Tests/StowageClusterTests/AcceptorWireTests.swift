import Foundation
import HTTPTypes
import Logging
import NIOCore
import StowageCore
import Synchronization
import Testing
@testable import StowageCluster

/// The acceptor messages between nodes: every request and reply round-trips, and anything
/// truncated, extended or unknown is refused, never trapped on.
@Suite struct AcceptorWireTests {
    let b = Ballot(ms: 1_700_000_000_123, logical: 9, nodeIndex: 2, incarnation: 0xDEAD_BEEF)
    let v = RegisterValue(writeID: WriteID(high: 1, low: 2), tombstone: false, payload: Array("manifest".utf8), dataRef: [1, 2, 3])
    let key = RegisterKey(scope: [0, 1], key: "a/b/ü")

    var requests: [AcceptorRequest] {
        [.prepare(b), .accept(b, v, carriesData: true), .accept(b, RegisterValue(writeID: WriteID(high: 5, low: 6), tombstone: true), carriesData: false),
         .commit(b, v), .learn(b, v.writeID), .read]
    }

    var replies: [AcceptorReply] {
        [.promise(accepted: AcceptedValue(ballot: b, value: v), chosen: true), .promise(accepted: nil, chosen: false),
         .accepted(voter: false, holdsData: true), .rejected(top: b, writeID: v.writeID), .rejected(top: b, writeID: nil),
         .clockAhead(driveMs: 42), .noData, .notVoter, .learned, .state(accepted: AcceptedValue(ballot: b, value: v), chosen: false)]
    }

    @Test func roundTrips() {
        for request in requests {
            let decoded = AcceptorWire.decodeRequest(AcceptorWire.encode(request, key: key))
            #expect(decoded?.0 == request && decoded?.1 == key)
        }
        for reply in replies { #expect(AcceptorWire.decodeReply(AcceptorWire.encode(reply)) == reply) }
    }

    @Test func damagedMessagesAreRefused() {
        for request in requests {
            let bytes = AcceptorWire.encode(request, key: key)
            for cut in 0..<bytes.count { #expect(AcceptorWire.decodeRequest(Array(bytes.prefix(cut))) == nil) }
            #expect(AcceptorWire.decodeRequest(bytes + [0]) == nil)
        }
        for reply in replies {
            let bytes = AcceptorWire.encode(reply)
            for cut in 0..<bytes.count { #expect(AcceptorWire.decodeReply(Array(bytes.prefix(cut))) == nil) }
        }
        #expect(AcceptorWire.decodeReply([99]) == nil)
        #expect(AcceptorWire.decodeRequest([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]) == nil)
        // A length prefix larger than the message.
        #expect(AcceptorWire.decodeRequest([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
    }
}

/// The drive request handler processes a request ID once: a repeat gets the first copy's reply
/// (so a duplicate can never turn an applied accept into a "refusal"), the drive sees it once.
@Suite struct DriveRequestHandlerTests {
    @Test(.timeLimit(.minutes(1))) func aRepeatedRequestGetsTheFirstReply() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-handler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let catalog = try DriveCatalog.open(path: root.appendingPathComponent("d.sqlite").path, durable: false, logger: Logger(label: "test"))
        defer { try? catalog.close() }
        let handler = DriveRequestHandler(drives: ["d0": (catalog, true)])
        let key = RegisterKey(scope: [1], key: "k")
        let ballot = Ballot(ms: WallClock.nowMs(), logical: 0, nodeIndex: 1, incarnation: 1)
        let value = RegisterValue(writeID: WriteID(high: 1, low: 1))

        func send(_ request: AcceptorRequest, id: String) async throws -> (HTTPResponse.Status, AcceptorReply?) {
            var fields = HTTPFields()
            fields[DriveRequestHandler.driveField] = "d0"
            fields[DriveRequestHandler.requestIDField] = id
            let response = try await handler.handle(
                ClusterRequest(verb: DriveRequestHandler.verb, resource: "drive/d0", fields: fields,
                               body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(request, key: key)))),
                from: NodeID("n1"))
            let body = try await response.body.collect(upTo: 1 << 20, orThrow: S3Error(.internalError))
            return (response.status, AcceptorWire.decodeReply(Array(body.readableBytesView)))
        }

        let first = try await send(.accept(ballot, value, carriesData: false), id: "r1")
        #expect(first.0 == .ok && first.1 == .accepted(voter: true, holdsData: false))
        // A later promise makes the same accept refusable, but the repeat still gets its first answer.
        let higher = Ballot(ms: ballot.ms, logical: 5, nodeIndex: 2, incarnation: 1)
        _ = try await send(.prepare(higher), id: "r2")
        let repeatReply = try await send(.accept(ballot, value, carriesData: false), id: "r1")
        #expect(repeatReply.0 == .ok && repeatReply.1 == first.1)
        // Unknown drives are answered without touching anything.
        var fields = HTTPFields()
        fields[DriveRequestHandler.driveField] = "nope"
        fields[DriveRequestHandler.requestIDField] = "r3"
        let unknown = try await handler.handle(
            ClusterRequest(verb: DriveRequestHandler.verb, resource: "x", fields: fields,
                           body: S3Body(ByteBuffer(bytes: AcceptorWire.encode(.read, key: key)))),
            from: NodeID("n1"))
        #expect(unknown.status == .notFound)
    }

    /// A drive that leaves rotation after applying a request: a repeat of that request still
    /// gets the first reply, never 404 (which the sender reads as "not delivered", and F1's
    /// "every drive refused" would then lie about an accept that was applied).
    @Test func aRepeatAfterTheDriveLeftRotationStillGetsTheFirstReply() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stowage-dedupe-\(UUID().uuidString).sqlite").path
        let catalog = try DriveCatalog.open(path: path, durable: false, logger: Logger(label: "test"))
        defer { try? catalog.close(); try? FileManager.default.removeItem(atPath: path) }
        let served = Mutex(true)
        let handler = DriveRequestHandler { uuid in
            uuid == "d0" && served.withLock({ $0 }) ? .catalog(catalog, isVoter: true) : nil
        }
        let key = RegisterKey(scope: [1], key: "k")
        let ballot = Ballot(ms: WallClock.nowMs(), logical: 0, nodeIndex: 1, incarnation: 1)
        func send(id: String) async throws -> HTTPResponse.Status {
            var fields = HTTPFields()
            fields[DriveRequestHandler.driveField] = "d0"
            fields[DriveRequestHandler.requestIDField] = id
            let accept = AcceptorWire.encode(.accept(ballot, RegisterValue(writeID: WriteID(high: 1, low: 2)), carriesData: false), key: key)
            let response = try await handler.handle(
                ClusterRequest(verb: DriveRequestHandler.verb, resource: "drive/d0", fields: fields, body: S3Body(ByteBuffer(bytes: accept))),
                from: NodeID("n1"))
            return response.status
        }
        #expect(try await send(id: "a1") == .ok)
        served.withLock { $0 = false }
        #expect(try await send(id: "a1") == .ok, "the repeat of an applied request")
        #expect(try await send(id: "a2") == .notFound, "a new request while the drive is out")
        served.withLock { $0 = true }
        #expect(try await send(id: "a2") == .notFound, "every copy of a refused request gets the same answer")
    }
}
