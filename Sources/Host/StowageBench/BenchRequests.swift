import NIOCore
import NIOHTTP1
import StowageCore
import StowageSigV4

/// Builds the requests of a run: signed with SigV4 (payload SHA-256 signed, as SDKs do over
/// plain HTTP) or unsigned.
struct BenchRequests: Sendable {
    let configuration: BenchConfiguration
    let signer: SigV4Signer?
    let body: ByteBuffer
    let bodyHash: String
    let hostHeader: String

    init(_ configuration: BenchConfiguration) {
        self.configuration = configuration
        signer = configuration.credentials.map { SigV4Signer(accessKeyID: $0.accessKeyID, secretAccessKey: $0.secretAccessKey, region: $0.region) }
        var bytes = [UInt8](repeating: 0, count: configuration.size)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        body = ByteBuffer(bytes: bytes)
        bodyHash = SHA256.hex(bytes)
        hostHeader = "\(configuration.host):\(configuration.port)"
    }

    func objectPath(_ index: Int) -> String {
        "/\(configuration.bucket)/" + PercentEncoding.encodeURLComponentKeepingSlash(configuration.prefix + "obj-\(index)")
    }

    /// The request for one operation; `index` picks the object.
    func make(_ operation: BenchConfiguration.Operation, index: Int) -> (HTTPRequestHead, ByteBuffer?) {
        switch operation {
        case .put: return request(.PUT, path: objectPath(index), body: body)
        case .get: return request(.GET, path: objectPath(index % max(configuration.objects, 1)))
        case .head: return request(.HEAD, path: objectPath(index % max(configuration.objects, 1)))
        case .delete: return request(.DELETE, path: objectPath(index))
        case .list: return request(.GET, path: "/\(configuration.bucket)", query: [("list-type", "2"), ("max-keys", "1000"), ("prefix", configuration.prefix)])
        }
    }

    func createBucket() -> (HTTPRequestHead, ByteBuffer?) {
        request(.PUT, path: "/\(configuration.bucket)")
    }

    func request(_ method: HTTPMethod, path: String, query: [(String, String)] = [], body: ByteBuffer? = nil) -> (HTTPRequestHead, ByteBuffer?) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: hostHeader)
        headers.add(name: "Content-Length", value: "\(body?.readableBytes ?? 0)")
        if let signer {
            let signed = signer.sign(method: method.rawValue, path: path, query: query, headers: [("host", hostHeader)],
                                     payloadHash: body == nil ? SigV4Signer.emptyPayloadHash : bodyHash, date: .now)
            for (name, value) in signed { headers.add(name: name, value: value) }
        }
        let target = query.isEmpty ? path : path + "?" + query.map { "\(PercentEncoding.encodeUnreserved($0.0))=\(PercentEncoding.encodeUnreserved($0.1))" }.joined(separator: "&")
        return (HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers), body)
    }
}
