import Foundation
import HTTPTypes
import NIOCore
import StowageCluster
import StowageCore

/// The membership verbs nodes send each other over the cluster transport (CLUSTER.md §9), and
/// their bodies (JSON, small and bounded).
enum MembershipVerb {
    /// A process without a certificate asks to join: it proves a join token's secret and gets
    /// a certificate and the map. Answered only by the node that holds the CA.
    static let join = "cluster-join"
    /// Any member answers with the newest cluster map it has.
    static let map = "cluster-map"
    /// Liveness (and the sender's map epoch, so a node behind learns it is).
    static let heartbeat = "cluster-heartbeat"
    /// A node forming the cluster from seeds asks the founder for its CA certificate (with a
    /// proof the founder knows the formation secret). Answered while the formation is open.
    static let formationHello = "cluster-formation-hello"
    /// `stowage cluster expand`, sent by the command under its node's certificate: the
    /// receiving member forms the next pool from the spares through the map register.
    static let expand = "cluster-expand"
}

struct ExpandAnswer: Codable, Sendable {
    var message: String
}

struct JoinRequest: Codable, Sendable {
    var secret: String
    var node: ClusterMap.Member
}

struct JoinAnswer: Codable, Sendable {
    var certificate: String
    var privateKey: String
    var caCertificate: String
    var map: ClusterMap
}

struct MembershipRefusal: Codable, Sendable {
    var error: String
}

enum MembershipBody {
    /// Membership bodies are a few KiB (a map of many nodes a few tens); anything past this is
    /// refused unread.
    static let limit = 256 << 10

    static func encode<T: Encodable>(_ value: T) -> S3Body {
        S3Body(ByteBuffer(bytes: (try? JSONEncoder().encode(value)) ?? Data()))
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: S3Body) async throws -> T {
        var collected = ByteBuffer()
        for try await chunk in body {
            guard collected.readableBytes + chunk.readableBytes <= limit else {
                throw MembershipError("the body is larger than \(limit) bytes")
            }
            var chunk = chunk
            collected.writeBuffer(&chunk)
        }
        return try JSONDecoder().decode(T.self, from: Data(collected.readableBytesView))
    }

    static func refusal(_ status: HTTPResponse.Status, _ reason: String) -> ClusterResponse {
        ClusterResponse(status: status, body: encode(MembershipRefusal(error: reason)))
    }
}

struct MembershipError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
