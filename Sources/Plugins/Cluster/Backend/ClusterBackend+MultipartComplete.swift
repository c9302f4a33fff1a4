import Foundation
public import StowageCore
import StowageErasure

/// CompleteMultipartUpload (CLUSTER.md §7, with the F12 review's fixes, by other means):
/// 1. the parts are chosen from the part registers with S3's rules (MultipartCompletion);
/// 2. every drive of the set hard-links its shard of each chosen attempt under a fresh data
///    ref of this completion and stages it; no byte is rewritten;
/// 3. the object's manifest is written like a PUT's, needing W_data drives that hold every part;
/// 4. the upload gets its tombstone and the part attempts go to the collector.
///
/// Why links and a fresh data ref: the object's files are names of its own, so collecting an
/// attempt (replaced by a re-upload, or after an Abort that raced this Complete) removes only
/// the attempt's name and never data an acknowledged object uses; a drive that lost an
/// attempt before linking fails to stage and does not count; and a retried Complete links
/// under a data ref of its own, never onto files an earlier attempt placed. Links are made
/// before the staging transaction that checks the attempts are still held, so a crash
/// between the two leaves names the scanner removes, never a staged row without files.
extension ClusterBackend {
    public func completeMultipartUpload(
        _ address: ObjectAddress, uploadID: String, parts requested: [CompletedPart], options: CompleteMultipartOptions
    ) async throws -> ObjectInfo {
        let state = try openState()
        guard !requested.isEmpty else {
            throw S3Error(.malformedXML, message: "The XML you provided was not well-formed or did not validate against our published schema")
        }
        let place = try await place(address, uploadID: uploadID, state: state)
        let upload: UploadRecord
        do {
            upload = try await openUpload(place, uploadID: uploadID)
        } catch let error as S3Error where error.code == .noSuchUpload {
            // SDKs retry a Complete whose answer was lost: the same answer, if the object is still that upload's.
            if let manifest = try await currentManifest(place.object),
               MultipartCompletion.isRepeat(of: uploadID, requested: requested, completedUpload: manifest.uploadID, etag: manifest.etag) {
                return manifest.info()
            }
            throw error
        }
        let stored = try await storedParts(place, state: state)
        let chosen = try MultipartCompletion.select(requested: requested, stored: stored, partInfo: \.info, upload: upload.info)
        let checksum = try MultipartCompletion.checksum(upload: upload.info, parts: chosen.map(\.info), options: options)
        if !options.conditions.isEmpty {
            // Fail fast before linking; checked again in the register write.
            try options.conditions.check(current: try await currentManifest(place.object)?.info())
        }
        let versionID = WriteID.random().bytes
        let parts = chosen.map { part -> ObjectManifest.Part in
            var layout = part.layout
            layout.checksum = part.checksumValue
            return layout
        }
        let needed = try await linkParts(chosen, into: versionID, place: place, state: state, parts: parts)
        let manifest = ObjectManifest(
            versionID: Data(versionID), key: address.key, size: chosen.reduce(Int64(0)) { $0 + $1.layout.size },
            etag: MultipartCompletion.etag(chosen.map(\.info)), lastModifiedMs: S3Timestamp.now.millisecondsSinceEpoch,
            ownerID: upload.ownerID, metadata: upload.metadata,
            checksum: checksum.map { ObjectManifest.Checksum(algorithm: $0.algorithm.rawValue, value: Data($0.value), type: $0.type.rawValue) },
            parts: parts, uploadID: uploadID, storageClass: upload.storageClass)
        let info = try await commitManifest(manifest, dataRef: versionID, located: place.object, needed: needed, conditions: options.conditions)
        // The object is written: the upload is over. If this tombstone is lost the upload stays
        // listed, and a retried Complete answers from the object.
        _ = await place.object.set.coordinator.write(RegisterValue(writeID: .random(), tombstone: true), key: place.upload)
        retireParts(place)
        return info
    }

    /// Every live part of the upload, in part order.
    func storedParts(_ place: UploadPlace, state: State) async throws -> [PartRecord] {
        var source = SetKeySource(set: place.object.set, scope: place.parts, prefix: [], readQuorum: state.quorum.readQuorum)
        var parts: [PartRecord] = []
        while let (_, value) = try await source.next() {
            parts.append(try Self.decodeOrFail { try PartRecord.decode(value.value) })
        }
        return parts
    }

    /// Links the chosen attempts' shards under `versionID` on every drive in rotation; W_data
    /// for the write, once at least that many drives hold every part; otherwise 503, nothing kept.
    private func linkParts(_ chosen: [PartRecord], into versionID: [UInt8], place: UploadPlace, state: State, parts: [ObjectManifest.Part]) async throws -> Int {
        let set = place.object.set
        let offline = set.offline
        guard state.quorum.canWriteData(offline: offline) else {
            throw S3Error(.serviceUnavailable, message: "\(offline) of the \(set.drives.count) drives of erasure set \(set.index) are offline; completing needs \(state.quorum.dataDrivesNeeded(offline: offline)).")
        }
        let needed = state.quorum.dataDrivesNeeded(offline: offline)
        var shardsBySlot: [Int: [LinkedShard]] = [:]
        for part in chosen {
            let length = try StripeGeometry(
                dataShards: part.layout.dataShards, parityShards: part.layout.parityShards, chunkSize: part.layout.chunkSize,
                objectSize: part.layout.size
            ).shardFileLength
            for slot in part.layout.slots {
                shardsBySlot[slot, default: []].append(LinkedShard(
                    attempt: Array(part.attempt), number: part.layout.number, slot: slot, inline: part.layout.inline, length: length))
            }
        }
        let now = WallClock.nowMs()
        let linked = await withTaskGroup(of: Bool.self) { group in
            for (slot, shards) in shardsBySlot {
                guard let drive = set.drives[slot], drive.online else { continue }
                group.addTask { (try? await drive.stageLinked(target: versionID, shards: shards, wallMs: now)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        guard linked >= needed else {
            await discard(versionID, located: place.object, parts: parts)
            throw S3Error(.serviceUnavailable, message: "Only \(linked) drives hold every part of the upload; \(needed) are needed. Retry, or upload the missing parts again.")
        }
        return needed
    }
}
