import NIOCore
import StowageCore
@testable import StowageCluster

extension ClusterBackend {
    /// An object's bytes as a GET answers them, buffered or streamed, for the cluster suites.
    func bytes(of address: ObjectAddress, options: GetObjectOptions = GetObjectOptions()) async throws -> [UInt8] {
        let result = try await getObject(address, options: options)
        var out = ByteBuffer()
        switch result.content {
        case .bytes(let buffer): out = buffer
        case .stream(let body, _): for try await piece in body { out.writeImmutableBuffer(piece) }
        default: break
        }
        return Array(out.readableBytesView)
    }
}
