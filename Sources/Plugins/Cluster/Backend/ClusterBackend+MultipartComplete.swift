import Foundation
public import StowageCore
import StowageErasure
import Synchronization

/// CompleteMultipartUpload (CLUSTER.md §7, with the F12 review's fixes, by other means):
/// 1. the parts are chosen from the part registers with S3's rules (MultipartCompletion);
/// 2. the upload is marked `completing` with a fresh version ID (compare-and-set), so an
///    Abort from then on settles that version before it answers;
/// 3. every drive of the set hard-links its shard of each chosen attempt under the version
///    and stages it; no byte is rewritten; each part must end up on as many drives as its
///    own write needed;
/// 4. the object's manifest is written like a PUT's;
/// 5. the upload gets its tombstone and the part attempts go to the collector.
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
        var upload: UploadRecord, write: WriteID
        do {
            (upload, write) = try await readUpload(place, uploadID: uploadID)
        } catch let error as S3Error where error.code == .noSuchUpload {
            // SDKs retry a Complete whose answer was lost: the same answer, if the object is still that upload's.
            return try await repeatedCompletion(place, uploadID: uploadID, requested: requested, error: error)
        }
        var staleVersion: UploadRecord.Completing?
        if let previous = upload.completing {
            // An earlier Complete stopped (or is still running) after marking the upload.
            switch await fence(previous, place: place) {
            case .completed:
                if try await replaceUpload(place, write: write, with: nil).done { retireParts(place) }
                return try await repeatedCompletion(place, uploadID: uploadID, requested: requested, error: S3Error(.noSuchUpload).with("UploadId", uploadID))
            case .undecided:
                throw S3Error(.serviceUnavailable, message: "An earlier Complete of this upload is unresolved and no quorum of its set's drives answered; retry.")
            case .fenced:
                // Its version is collected once this Complete's mark replaces it.
                upload.completing = nil
                staleVersion = previous
            }
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
        // Marked before anything is linked: an Abort from now on settles this version first.
        let marking = try await place.object.set.coordinator.clock.issue(above: nil)
        var marked = upload
        marked.completing = UploadRecord.Completing(versionID: Data(versionID), parts: parts, ballot: Data(marking.bytes))
        let (markedDone, markedValue) = try await replaceUpload(place, write: write, with: marked)
        guard markedDone else {
            throw S3Error(.conditionalRequestConflict, message: "The upload was aborted or completed while this Complete started; if it was completed, retry to get its answer.")
        }
        if let staleVersion { collectLater(Array(staleVersion.versionID), located: place.object, parts: staleVersion.parts) }
        // Written at the marked ballot only: an Abort that settles the object key above it
        // fences this Complete. A write no quorum accepted took no effect: it starts again
        // under a new ballot, marked first (a compare-and-set on exactly the state this
        // Complete left, so an Abort in between wins), and links again (the refusal discarded them).
        var ballot = marking
        var markedWrite = markedValue.writeID
        var attempt = 0
        let info: ObjectInfo
        while true {
            attempt += 1
            do {
                let needed = try await linkParts(chosen, into: versionID, place: place, state: state, parts: parts)
                let manifest = ObjectManifest(
                    versionID: Data(versionID), key: address.key, size: chosen.reduce(Int64(0)) { $0 + $1.layout.size },
                    etag: MultipartCompletion.etag(chosen.map(\.info)), lastModifiedMs: S3Timestamp.now.millisecondsSinceEpoch,
                    ownerID: upload.ownerID, metadata: upload.metadata,
                    checksum: checksum.map { ObjectManifest.Checksum(algorithm: $0.algorithm.rawValue, value: Data($0.value), type: $0.type.rawValue) },
                    parts: parts, uploadID: uploadID, storageClass: upload.storageClass)
                info = try await commitManifest(
                    manifest, dataRef: versionID, located: place.object, needed: needed, conditions: options.conditions,
                    firstBallot: ballot, attempts: 1)
                break
            } catch let refused as WriteRefused {
                guard attempt < 4 else {
                    _ = try? await replaceUpload(place, write: markedWrite, with: upload)
                    throw S3Error(.serviceUnavailable, message: "Not enough drives answered: \(refused.reason).")
                }
                try? await Task.sleep(for: .milliseconds(Int.random(in: 5...40)))
                // The coordinator's clock saw the refusals' ballots: the next is above them.
                ballot = try await place.object.set.coordinator.clock.issue(above: nil)
                marked.completing?.ballot = Data(ballot.bytes)
                let (again, value) = try await replaceUpload(place, write: markedWrite, with: marked)
                guard again else {
                    throw S3Error(.conditionalRequestConflict, message: "The upload was aborted while it was being completed.")
                }
                markedWrite = value.writeID
            } catch {
                // A write that surely did not happen (412, too few drives) opens the upload
                // again; one whose outcome is unknown (SlowDown) stays marked for the fence.
                if (error as? S3Error)?.code != .slowDown {
                    _ = try? await replaceUpload(place, write: markedWrite, with: upload)
                }
                throw error
            }
        }
        // The object is written: the upload is over. Its parts are retired only with it: if
        // this tombstone is lost, the upload stays, and a retry settles it as completed.
        if try await replaceUpload(place, write: markedWrite, with: nil).done { retireParts(place) }
        return info
    }

    /// The answer to a Complete of an upload that is gone: the object's, when the object is
    /// still what this upload made with these parts; NoSuchUpload otherwise.
    private func repeatedCompletion(_ place: UploadPlace, uploadID: String, requested: [CompletedPart], error: S3Error) async throws -> ObjectInfo {
        if let manifest = try await currentManifest(place.object),
           MultipartCompletion.isRepeat(of: uploadID, requested: requested, completedUpload: manifest.uploadID, etag: manifest.etag) {
            return manifest.info()
        }
        throw error
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

    /// Links the chosen attempts' shards under `versionID` on every drive in rotation, and
    /// counts, per part, the drives that now hold its shard under the version. Each part needs
    /// as many as its own write needed (W_data for the geometry it was written with: k′+1 with
    /// parity): the object is then exactly as durable as its parts were, whatever is offline
    /// now. Returns W_data for the manifest's write (every drive that counts any part holds
    /// the version); otherwise 503, and the links go.
    private func linkParts(_ chosen: [PartRecord], into versionID: [UInt8], place: UploadPlace, state: State, parts: [ObjectManifest.Part]) async throws -> Int {
        let set = place.object.set
        var shardsBySlot: [Int: [LinkedShard]] = [:]
        var needs: [Int: Int] = [:]
        for part in chosen {
            let layout = part.layout
            let length = try StripeGeometry(
                dataShards: layout.dataShards, parityShards: layout.parityShards, chunkSize: layout.chunkSize, objectSize: layout.size
            ).shardFileLength
            needs[layout.number] = layout.parityShards == 0 || state.quorum.dataWriteQuorum == .data ? layout.dataShards : layout.dataShards + 1
            for slot in layout.slots {
                shardsBySlot[slot, default: []].append(LinkedShard(
                    attempt: Array(part.attempt), number: layout.number, slot: slot, inline: layout.inline, length: length))
            }
        }
        let now = WallClock.nowMs()
        let partCount = chosen.count
        let (counted, holders) = await withTaskGroup(of: [Int].self) { group in
            for (slot, shards) in shardsBySlot {
                guard let drive = set.drives[slot], drive.online else { continue }
                group.addTask { (try? await drive.stageLinked(target: versionID, owner: place.object.key, shards: shards, wallMs: now)) ?? [] }
            }
            return await group.reduce(into: ([Int: Int](), 0)) { totals, parts in
                for part in parts { totals.0[part, default: 0] += 1 }
                if parts.count == partCount { totals.1 += 1 }
            }
        }
        // The manifest's accept counts a drive as holding the data only if it holds every part,
        // so W_data = the most any part needs, among drives that hold them all (F8).
        let short = needs.filter { counted[$0.key, default: 0] < $0.value }.keys.sorted()
        guard short.isEmpty, holders >= (needs.values.max() ?? 1) else {
            await discard(versionID, located: place.object, parts: parts)
            counters.quorumFailures.add(1, ordering: .relaxed)
            guard let first = short.first else {
                throw S3Error(.serviceUnavailable, message: "Only \(holders) drives in rotation hold every part; \(needs.values.max() ?? 1) are needed (parts written while drives were out are not on every drive). Upload those parts again, or retry once the drives are back.")
            }
            throw S3Error(.serviceUnavailable, message: "Part \(first) is held by \(counted[first, default: 0]) drives in rotation; it was written to need \(needs[first]!). Retry once the set's drives are back, or upload the part again.")
        }
        return needs.values.max() ?? 1
    }
}
