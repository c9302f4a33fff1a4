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
