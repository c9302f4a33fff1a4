internal import CGnuTLS
internal import CNgtcp2
import Foundation
import HTTPTypes
public import NIOCore
import NIOPosix
public import StowageCore

/// One UDP socket of a node: it dials other nodes and answers them, with every QUIC
/// connection on it confined to the socket's event loop. Datagrams are routed to their
/// connection by destination connection ID; an unknown one that is a client's first Initial
/// starts an answering connection.
///
/// ```swift
/// let endpoint = try await QUICEndpoint.bind(host: "127.0.0.1", port: 0, credentials: credentials, handler: handler)
/// let response = try await endpoint.send(request, to: NodeID("node-2"), at: address)
/// ```
public final class QUICEndpoint: Sendable {
    let loop: any EventLoop
    let state: NIOLoopBound<EndpointState>

    /// The address the socket is bound to (its port, when bound to 0).
    public let localAddress: SocketAddress

    private init(channel: any Channel, state: NIOLoopBound<EndpointState>) {
        loop = channel.eventLoop
        self.state = state
        localAddress = channel.localAddress!
    }

    /// `joinHandler`, if given, answers clients that present no certificate (processes
    /// joining with a token); without it such clients are refused in the handshake.
    public static func bind(
        host: String, port: Int, credentials: NodeCredentials, handler: any ClusterRequestHandler,
        joinHandler: (any ClusterRequestHandler)? = nil, admitsJoiners: @escaping @Sendable () -> Bool = { true },
        group: (any EventLoopGroup)? = nil
    ) async throws -> QUICEndpoint {
        try await bind(
            host: host, port: port, tls: try TLSCredentials(credentials, admitsAnonymousClients: joinHandler != nil),
            handler: handler, joinHandler: joinHandler, admitsJoiners: admitsJoiners, group: group)
    }

    static func bind(
        host: String, port: Int, tls: TLSCredentials, handler: any ClusterRequestHandler,
        joinHandler: (any ClusterRequestHandler)? = nil, admitsJoiners: @escaping @Sendable () -> Bool = { true },
        group: (any EventLoopGroup)? = nil
    ) async throws -> QUICEndpoint {
        let loop = (group ?? MultiThreadedEventLoopGroup.singleton).next()
        let channel = try await openSocket(on: loop, host: host, port: port)
        let state = try await loop.submit {
            let state = EndpointState(channel: channel, credentials: tls, handler: handler, joinHandler: joinHandler, admitsJoiners: admitsJoiners)
            try channel.pipeline.syncOperations.addHandler(EndpointHandler(state: state))
            return NIOLoopBound(state, eventLoop: loop)
        }.get()
        return QUICEndpoint(channel: channel, state: state)
    }

    /// The node's UDP socket, with the options every QUIC endpoint wants.
    static func openSocket(on loop: any EventLoop, host: String, port: Int) async throws -> any Channel {
        let channel = try await DatagramBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(ChannelOptions.socketOption(.so_sndbuf), value: 4 << 20)
            // recvmmsg of up to 16 datagrams a call, each up to 64 KiB: with GRO the kernel
            // hands over runs of packets as one datagram (NIO splits the receive buffer among
            // the messages, so each slot must hold a whole run).
            .channelOption(ChannelOptions.datagramVectorReadMessageCount, value: 16)
            .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 16 * 65_536))
            .bind(host: host, port: port).get()
        if System.supportsUDPReceiveOffload {
            try await channel.setOption(ChannelOptions.datagramReceiveOffload, value: true)
            try await channel.setOption(ChannelOptions.datagramReceiveSegmentSize, value: true)
        }
        return channel
    }

    /// Sends `request` to the node `peer` listening at `address`, over the pooled connection
    /// to it (dialled if there is none).
    public func send(_ request: ClusterRequest, to peer: NodeID, at address: SocketAddress) async throws -> ClusterResponse {
        let promise = loop.makePromise(of: ClusterResponse.self)
        let state = self.state
        loop.execute {
            do {
                try state.value.connection(to: peer, at: address).submit(request, promise: promise)
            } catch {
                promise.fail(ClusterTransportError.notDelivered(peer, reason: "\(error)"))
            }
        }
        // A sender that gives up (a deadline, a cancelled task) takes its request back: not yet
        // on a stream, it was never delivered; on one, the stream is reset.
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            state.eventLoop.execute { state.value.abandon(promise.futureResult, peer: peer) }
        }
    }

    /// Closes the connection this endpoint dialled to `peer`, if any: its requests in flight
    /// learn "outcome unknown" now, and the next request dials afresh. For a peer the failure
    /// detector suspects: a killed process never says goodbye.
    public func disconnect(_ peer: NodeID) async {
        let state = self.state
        try? await loop.submit { state.value.disconnect(peer) }.get()
    }

    /// Closes the socket without a word to any peer: a process killed. For tests.
    func abort() async throws {
        let state = self.state
        let channel = try await loop.submit { state.value.markClosed() }.get()
        try? await channel.close()
    }

    /// Closes every connection (telling each peer) and the socket.
    public func close() async throws {
        let state = self.state
        let channel = try await loop.submit { state.value.closeAll() }.get()
        do {
            try await channel.close()
        } catch ChannelError.alreadyClosed {
            // A goodbye the kernel refused closed it already (socketClosed does not rebind
            // once we are closing).
        }
    }
}

/// The endpoint's state, confined to its event loop.
final class EndpointState: QUICConnectionOwner {
    /// The socket; replaced if NIO closes it under us (``socketClosed()``).
    private(set) var channel: any Channel
    let credentials: TLSCredentials
    let handler: any ClusterRequestHandler
    let joinHandler: (any ClusterRequestHandler)?
    let admitsJoiners: @Sendable () -> Bool
    /// Connections of clients without a certificate, now.
    var anonymousConnections = 0
    let localAddress: SocketAddress
    var loop: any EventLoop { channel.eventLoop }
    private var byCID: [[UInt8]: QUICConnection] = [:]
    private var dialled: [NodeID: QUICConnection] = [:]
    private var all: [ObjectIdentifier: QUICConnection] = [:]
    private var pendingFlush = false
    private var touched: [ObjectIdentifier: QUICConnection] = [:]
    private(set) var isClosed = false

    static let maxConnections = 1_024
    /// Clients without a certificate at once: joining is rare, and these connections must not
    /// crowd out the members'.
    static let maxAnonymousConnections = 8
    /// A client without a certificate loses its connection once it has had no request open
    /// for this long (checked this often), and after ``anonymousLifetime`` in any case: a join
    /// takes one request, and a squatter must not hold a slot.
    static let anonymousIdle = TimeAmount.seconds(10)
    static let anonymousLifetime = TimeAmount.minutes(5)

    init(
        channel: any Channel, credentials: TLSCredentials, handler: any ClusterRequestHandler, joinHandler: (any ClusterRequestHandler)?,
        admitsJoiners: @escaping @Sendable () -> Bool
    ) {
        self.channel = channel
        self.credentials = credentials
        self.handler = handler
        self.joinHandler = joinHandler
        self.admitsJoiners = admitsJoiners
        localAddress = channel.localAddress!
    }

    func connection(to peer: NodeID, at address: SocketAddress) throws -> QUICConnection {
        guard !isClosed else { throw ClusterTransportError.notDelivered(peer, reason: "the endpoint is closed") }
        if let existing = dialled[peer], !existing.isClosed, existing.remote == address { return existing }
        let connection = try QUICConnection.dial(peer, at: address, owner: self)
        dialled[peer] = connection
        all[ObjectIdentifier(connection)] = connection
        connection.writePackets()
        return connection
    }

    func datagram(_ envelope: AddressedEnvelope<ByteBuffer>) {
        // GRO: a run of packets from one sender arrives as one datagram; split it.
        if let segment = envelope.metadata?.segmentSize, segment > 0, envelope.data.readableBytes > segment {
            var rest = envelope.data
            while rest.readableBytes > 0, let piece = rest.readSlice(length: Swift.min(segment, rest.readableBytes)) {
                packet(piece, from: envelope.remoteAddress)
            }
            return
        }
        packet(envelope.data, from: envelope.remoteAddress)
    }

    private func packet(_ data: ByteBuffer, from remoteAddress: SocketAddress) {
        var version = ngtcp2_version_cid()
        let decoded = data.withUnsafeReadableBytes { bytes in
            ngtcp2_pkt_decode_version_cid(&version, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, 16)
        }
        guard decoded == 0, let dcid = version.dcid else { return }
        let key = Array(UnsafeBufferPointer(start: dcid, count: version.dcidlen))
        if let connection = byCID[key] {
            connection.receive(data)
            touched[ObjectIdentifier(connection)] = connection
            return
        }
        var header = ngtcp2_pkt_hd()
        let accepted = data.withUnsafeReadableBytes { bytes in
            ngtcp2_accept(&header, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        if accepted != 0 && version.version == 0 {
            // A short-header packet with a connection ID we do not know. From a peer we have a
            // connection with, it may be that peer's stateless reset (its connection ID is
            // random): the connection checks the reset token. Otherwise we restarted and the
            // sender's connection is gone: a stateless reset tells it at once.
            let known = all.values.filter { $0.remote == remoteAddress }
            if known.isEmpty {
                reset(key, triggerSize: data.readableBytes, to: remoteAddress)
            } else {
                for connection in known {
                    connection.receive(data)
                    touched[ObjectIdentifier(connection)] = connection
                }
            }
            return
        }
        // A flood of first packets must not exhaust the node: past the cap, new ones are dropped.
        guard accepted == 0, !isClosed, all.count < Self.maxConnections,
              let connection = try? QUICConnection.answer(header, from: remoteAddress, owner: self) else { return }
        all[ObjectIdentifier(connection)] = connection
        connection.receive(data)
        touched[ObjectIdentifier(connection)] = connection
    }

    /// The socket's batch of datagrams is in: each connection that read any writes now.
    func readComplete() {
        let connections = touched.values
        touched.removeAll(keepingCapacity: true)
        for connection in connections { connection.writePackets() }
        flush()
    }

    let segmentation = System.supportsUDPSegmentationOffload

    /// Answers a packet on the unknown connection ID `cid` with a stateless reset, always
    /// shorter than the packet that caused it (two endpoints can never reset each other in a
    /// loop, and a reset is never an amplifier).
    private func reset(_ cid: [UInt8], triggerSize: Int, to address: SocketAddress) {
        let randomLength = Swift.min(triggerSize - 1 - Int(NGTCP2_STATELESS_RESET_TOKENLEN) - 1, 40)
        guard !isClosed, randomLength >= Int(NGTCP2_MIN_STATELESS_RESET_RANDLEN), cid.count <= Int(NGTCP2_MAX_CIDLEN) else { return }
        var id = ngtcp2_cid()
        ngtcp2_cid_init(&id, cid, cid.count)
        var token = [UInt8](repeating: 0, count: Int(NGTCP2_STATELESS_RESET_TOKENLEN))
        QUICConnection.resetToken(for: id, secret: credentials.resetSecret, into: &token)
        var random = [UInt8](repeating: 0, count: randomLength)
        _ = gnutls_rnd(GNUTLS_RND_NONCE, &random, randomLength)
        var packet = [UInt8](repeating: 0, count: 1 + randomLength + token.count)
        let written = ngtcp2_pkt_write_stateless_reset(&packet, packet.count, token, random, randomLength)
        guard written > 0 else { return }
        send(ByteBuffer(bytes: packet.prefix(Int(written))), segment: nil, to: address)
    }

    func send(_ datagram: ByteBuffer, segment: Int?, to address: SocketAddress) {
        let metadata = segment.map { AddressedEnvelope<ByteBuffer>.Metadata(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: $0) }
        channel.write(AddressedEnvelope(remoteAddress: address, data: datagram, metadata: metadata), promise: nil)
        pendingFlush = true
    }

    func flush() {
        guard pendingFlush else { return }
        pendingFlush = false
        channel.flush()
    }

    func route(_ cid: [UInt8], to connection: QUICConnection?) {
        byCID[cid] = connection
    }

    /// Whether a client without a certificate may have a connection now; if so it is counted
    /// (``closed(_:)`` uncounts it) and closed after ``anonymousLifetime`` at the latest.
    func admitAnonymous(_ connection: QUICConnection) -> Bool {
        guard joinHandler != nil, anonymousConnections < Self.maxAnonymousConnections, admitsJoiners() else { return false }
        anonymousConnections += 1
        let deadline = NIODeadline.now() + Self.anonymousLifetime
        loop.scheduleRepeatedTask(initialDelay: Self.anonymousIdle, delay: Self.anonymousIdle) { [weak connection] task in
            guard let connection, !connection.isClosed else {
                task.cancel()
                return
            }
            if connection.streams.isEmpty || NIODeadline.now() >= deadline {
                connection.close()
                task.cancel()
            }
        }
        return true
    }

    func closed(_ connection: QUICConnection) {
        if connection.isAnonymous { anonymousConnections -= 1 }
        all[ObjectIdentifier(connection)] = nil
        for (peer, dialledConnection) in dialled where dialledConnection === connection { dialled[peer] = nil }
    }

    func disconnect(_ peer: NodeID) {
        dialled[peer]?.close()
    }

    /// Forgets every connection without telling its peer; returns the socket to close.
    func markClosed() -> any Channel {
        isClosed = true
        for connection in Array(all.values) { connection.drop() }
        return channel
    }

    /// Closes every connection politely; returns the socket to close.
    func closeAll() -> any Channel {
        isClosed = true
        for connection in Array(all.values) { connection.close() }
        return channel
    }

    /// The socket closed without us closing it: NIO closes a datagram channel on a send error
    /// it does not count as recoverable (EINVAL from a blackhole route, ENETUNREACH while an
    /// interface is down, EPERM from a firewall, ENOBUFS). One failed send must not take the
    /// node off the cluster: a new socket is bound to the same address, and the connections
    /// carry on (QUIC retransmits what the failed batch held).
    func socketClosed(_ closed: any Channel) {
        guard !isClosed, closed === channel else { return }
        let address = localAddress, loop = self.loop
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            var delay = Duration.milliseconds(10)
            while true {
                guard let host = address.ipAddress, let port = address.port else { return }
                if let channel = try? await QUICEndpoint.openSocket(on: loop, host: host, port: port) {
                    let adopted = try? await loop.submit {
                        let state = bound.value
                        guard !state.isClosed else { return false }
                        state.channel = channel
                        try channel.pipeline.syncOperations.addHandler(EndpointHandler(state: state))
                        return true
                    }.get()
                    if adopted != true { try? await channel.close() }
                    return
                }
                guard (try? await loop.submit({ bound.value.isClosed }).get()) == false else { return }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    func abandon(_ future: EventLoopFuture<ClusterResponse>, peer: NodeID) {
        dialled[peer]?.abandon(future)
    }
}

/// Hands the socket's datagrams to the endpoint's state.
final class EndpointHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let state: EndpointState

    init(state: EndpointState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        state.datagram(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        state.readComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A datagram socket's errors (an ICMP unreachable) concern one send, never the socket.
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.socketClosed(context.channel)
        context.fireChannelInactive()
    }
}

/// What a joining process answers if a node ever sends it a request: nothing for it to serve.
struct RefusingHandler: ClusterRequestHandler {
    func handle(_ request: ClusterRequest, from sender: NodeID) async throws -> ClusterResponse {
        ClusterResponse(status: .forbidden)
    }
}
