import Foundation
public import StowageCore

/// CopyObject: the source's bytes streamed, decoded, into a new write of the destination
/// (coded for the destination's set, which may differ), with the source's metadata or the
/// request's; a copy onto itself that replaces metadata writes a new manifest over the same
/// data instead (no bytes move). Conditions on both ends as on FileStore.
extension ClusterBackend {
    public func copyObject(from source: ObjectAddress, to destination: ObjectAddress, options: CopyObjectOptions) async throws -> ObjectInfo {
        let state = try openState()
        let sourceLocated = try await locate(source, state: state)
        _ = try await bucketRecord(destination.bucket, state: state)
        if source == destination && options.metadataDirective == .replace {
            return try await replaceMetadata(sourceLocated, options: options)
        }
        guard let manifest = try await currentManifest(sourceLocated) else { throw S3Error(.noSuchKey).with("Key", source.key) }
        let info = manifest.info()
        try options.sourceConditions.enforceForCopySource(on: info)
        guard manifest.size <= options.maxSize else {
            throw S3Error(.invalidRequest, message: "The specified copy source is larger than the maximum allowable size for a copy source: \(options.maxSize)")
        }
        var body = S3Body.empty
        if manifest.size > 0 {
            body = S3Body(stream: try manifestBytes(manifest, set: sourceLocated.set, range: 0..<manifest.size), length: manifest.size)
        }
        let metadata = options.metadataDirective == .copy ? info.metadata.replacingACL(options.metadata.cannedACL) : options.metadata
        // The source's checksum was verified when it was stored and its bytes are checked
        // block by block as they are read: it carries over.
        // A copy is a single-part object, as on S3: a multipart source's composite checksum
        // describes its parts, so it is computed afresh over the bytes.
        let multipart = manifest.uploadID != nil
        let checksum = multipart ? nil : info.checksum.map { PayloadChecksum(algorithm: $0.algorithm, value: $0.value) }
        return try await put(destination, body: body, options: PutObjectOptions(
            metadata: metadata, owner: options.owner, expectedSize: manifest.size, conditions: options.destinationConditions,
            checksum: checksum), computing: multipart ? info.checksum?.algorithm : nil)
    }

    /// A new manifest for the same data: the register's compare-and-set, so the conditions
    /// are checked against the version it replaces.
    private func replaceMetadata(_ located: Located, options: CopyObjectOptions) async throws -> ObjectInfo {
        let owner = options.owner.canonicalUserID, metadata = ObjectManifest.metadata(options.metadata)
        let now = S3Timestamp.now.millisecondsSinceEpoch
        let outcome = await located.set.coordinator.compareAndSet(key: located.key) { current in
            guard let current, !current.value.tombstone, var manifest = try? ObjectManifest.decode(current.value) else { return .refuse }
            let info = manifest.info()
            guard (try? options.sourceConditions.enforceForCopySource(on: info)) != nil,
                  (try? options.destinationConditions.check(current: info)) != nil
            else { return .refuse }
            manifest.metadata = metadata
            manifest.ownerID = owner
            manifest.lastModifiedMs = now
            guard let payload = try? manifest.encoded() else { return .refuse }
            return .write(RegisterValue(writeID: .random(), payload: payload, dataRef: current.value.dataRef))
        }
        switch outcome {
        case .written(let value):
            let manifest = try Self.decodeOrFail { try ObjectManifest.decode(value.value) }
            manifestCache.store(manifest, for: value.value.writeID)
            return manifest.info()
        case .preconditionFailed(let current):
            guard let info = Self.liveInfo(current) else { throw S3Error(.noSuchKey).with("Key", String(decoding: located.key.key, as: UTF8.self)) }
            try options.sourceConditions.enforceForCopySource(on: info)
            try options.destinationConditions.check(current: info)
            throw S3Error(.preconditionFailed)
        default:
            _ = try Self.resolve(outcome)
            throw S3Error(.internalError)
        }
    }

    /// PutObjectAcl: the current version's manifest with the new canned ACL, over the same
    /// data, as a compare-and-set (a concurrent overwrite is not undone).
    public func setObjectACL(_ address: ObjectAddress, acl: CannedACL?) async throws {
        let state = try openState()
        let located = try await locate(address, state: state)
        let outcome = await located.set.coordinator.compareAndSet(key: located.key) { current in
            guard let current, !current.value.tombstone, var manifest = try? ObjectManifest.decode(current.value) else { return .refuse }
            manifest.metadata.cannedACL = acl?.rawValue
            guard let payload = try? manifest.encoded() else { return .refuse }
            return .write(RegisterValue(writeID: .random(), payload: payload, dataRef: current.value.dataRef))
        }
        switch outcome {
        case .written(let value):
            manifestCache.store(try Self.decodeOrFail { try ObjectManifest.decode(value.value) }, for: value.value.writeID)
        case .preconditionFailed:
            throw S3Error(.noSuchKey).with("Key", address.key)
        default:
            _ = try Self.resolve(outcome)
        }
    }
}
