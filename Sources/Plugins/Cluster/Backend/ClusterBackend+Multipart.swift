import Foundation
public import StowageCore
import Synchronization

/// Multipart uploads (CLUSTER.md §7, F12). The upload and each of its parts are registers in
/// the final object's set; a part's shards are coded and staged like a PUT's, under a data ref
/// of the attempt's own, and its register is written blind (a re-upload replaces it; the
/// collector takes the attempt it replaced). Complete (ClusterBackend+MultipartComplete) links
/// the chosen attempts' shard files under the object version: no data is rewritten.
extension ClusterBackend {
    /// Where an upload's registers live: the object's set, the upload's key in the bucket's
    /// upload scope, its parts' scope.
    struct UploadPlace: Sendable {
        let object: Located
        let upload: RegisterKey
        let parts: [UInt8]

        func part(_ number: Int) -> Located {
            Located(set: object.set, key: RegisterKey(scope: parts, key: PartRecord.registerKey(number)))
        }
    }

    func place(_ address: ObjectAddress, uploadID: String, state: State) async throws -> UploadPlace {
        let object = try await locate(address, state: state)
        let bucketID = object.key.scope
        return UploadPlace(
            object: object,
            upload: RegisterKey(scope: MultipartScopes.uploads(bucketID: bucketID), key: UploadRecord.registerKey(key: address.key, uploadID: uploadID)),
            parts: MultipartScopes.parts(bucketID: bucketID, uploadID: uploadID))
    }

    /// The upload, live, or NoSuchUpload.
    func openUpload(_ place: UploadPlace, uploadID: String) async throws -> UploadRecord {
        try await readUpload(place, uploadID: uploadID).record
    }

    /// The upload and the write that stored it (for a compare-and-set on exactly that state).
    func readUpload(_ place: UploadPlace, uploadID: String) async throws -> (record: UploadRecord, write: WriteID) {
        guard UploadRecord.isWellFormed(uploadID: uploadID),
              let value = try Self.resolve(await place.object.set.coordinator.read(key: place.upload)), !value.value.tombstone
        else {
            throw S3Error(.noSuchUpload).with("UploadId", uploadID)
        }
        return (try Self.decodeOrFail { try UploadRecord.decode(value.value) }, value.value.writeID)
    }

    /// Replaces the upload's value if it is still `write`: with `next`, or with its tombstone.
    /// False when it changed (or is gone) meanwhile.
    func replaceUpload(_ place: UploadPlace, write: WriteID, with next: UploadRecord?) async throws -> (done: Bool, value: RegisterValue) {
        let value = try next.map { RegisterValue(writeID: .random(), payload: try $0.encoded()) } ?? RegisterValue(writeID: .random(), tombstone: true)
        let outcome = await place.object.set.coordinator.compareAndSet(key: place.upload) { current in
            current?.value.writeID == write && current?.value.tombstone == false ? .write(value) : .refuse
        }
        if case .preconditionFailed = outcome { return (false, value) }
        _ = try Self.resolve(outcome)
        return (true, value)
    }

    enum CompletionFence {
        /// The completing version was chosen: that Complete took effect.
        case completed
        /// Not chosen, and its write cannot be chosen at its ballot any more (the caller's
        /// compare-and-set on the upload decides whether the Complete may still try again).
        case fenced
        /// No quorum answered: retry later.
        case undecided
    }

    /// Settles a `completing` upload's version (CLUSTER.md §7; F12 "Abort vs Complete"). The
    /// Complete proposes its object write at one ballot b, recorded in the upload, and never
    /// starts it again under another. A read that writes back at a ballot above b (this
    /// node's clock first observes b) then decides it: if the version was chosen, or could
    /// still be, the write-back finds it and makes it chosen (Paxos: a prepare above b sees
    /// any value chosen at b); otherwise it chooses another value above b, and the Complete's
    /// accepts at b can never form a quorum. Its data then goes to the collector.
    func fence(_ completing: UploadRecord.Completing, place: UploadPlace) async -> CompletionFence {
        guard let ballot = Ballot(bytes: Array(completing.ballot)) else { return .undecided }
        let coordinator = place.object.set.coordinator
        coordinator.clock.observe(ballot)
        let settled = await coordinator.compareAndSet(key: place.object.key) { current in
            .write(current?.value ?? RegisterValue(writeID: .random(), tombstone: true))
        }
        guard case .written(let chosen) = settled else { return .undecided }
        return chosen.value.dataRef == Array(completing.versionID) ? .completed : .fenced
    }

    /// DeleteBucket's abort of an upload: a tombstone whatever its state (the bucket's objects
    /// are fenced), the data of a Complete it was in to the collector.
    func dropUpload(_ address: ObjectAddress, uploadID: String) async throws {
        let place = try await place(address, uploadID: uploadID, state: try openState())
        let (upload, write) = try await readUpload(place, uploadID: uploadID)
        guard try await replaceUpload(place, write: write, with: nil).done else { return }
        if let completing = upload.completing {
            collectLater(Array(completing.versionID), located: place.object, parts: completing.parts)
        }
        retireParts(place)
    }

    public func createMultipartUpload(_ address: ObjectAddress, options: MultipartUploadOptions) async throws -> MultipartUploadInfo {
        let state = try openState()
        try ObjectKeys.validate(address.key)
        let now = S3Timestamp.now
        let uploadID = UploadRecord.newUploadID(now: now)
        let place = try await place(address, uploadID: uploadID, state: state)
        let record = UploadRecord(
            uploadID: uploadID, key: address.key, initiatedMs: now.millisecondsSinceEpoch, ownerID: options.owner.canonicalUserID,
            storageClass: options.storageClass, checksumAlgorithm: options.checksumAlgorithm?.rawValue,
            checksumType: options.checksumType?.rawValue, metadata: ObjectManifest.metadata(options.metadata))
        _ = try Self.resolve(await place.object.set.coordinator.write(
            RegisterValue(writeID: .random(), payload: try record.encoded()), key: place.upload))
        return record.info
    }

    public func uploadPart(_ address: ObjectAddress, uploadID: String, partNumber: Int, body: S3Body, options: PartOptions) async throws -> PartInfo {
        let state = try openState()
        let place = try await place(address, uploadID: uploadID, state: state)
        let upload = try await openUpload(place, uploadID: uploadID).info
        if let required = upload.checksumAlgorithm {
            let sent = options.checksum?.algorithm
            // As FileStore: COMPOSITE uploads need each part's checksum; FULL_OBJECT ones get
            // it computed here when the client sent none.
            if sent != nil && sent != required || (sent == nil && upload.checksumType != .fullObject) {
                throw S3Error(.invalidRequest, message: "Checksum Type mismatch occurred, expected checksum Type: \(required.rawValue.lowercased()), actual checksum Type: \(sent?.rawValue.lowercased() ?? "null")")
            }
        }
        let computed = options.checksum == nil ? upload.checksumAlgorithm : nil
        let ingest = BodyIngest(maxSize: options.maxSize, expectedSize: options.expectedSize, contentMD5: options.contentMD5, computing: computed)
        return try await storePart(body, ingest: ingest, expectedSize: options.expectedSize, number: partNumber, uploadID: uploadID, place: place, state: state) { checked in
            if let computed, let value = checked.checksum { return (computed, value) }
            // The client's checksum has its value once the body was read to the end (a trailer).
            return options.checksum.flatMap { sent in sent.value.map { (sent.algorithm, $0) } }
        }
    }

    public func uploadPartCopy(_ address: ObjectAddress, uploadID: String, partNumber: Int, source: ObjectAddress, options: PartCopyOptions) async throws -> PartInfo {
        let state = try openState()
        let place = try await place(address, uploadID: uploadID, state: state)
        let upload = try await openUpload(place, uploadID: uploadID).info
        let sourceLocated = try await locate(source, state: state)
        guard let manifest = try await currentManifest(sourceLocated) else { throw S3Error(.noSuchKey).with("Key", source.key) }
        try options.sourceConditions.enforceForCopySource(on: manifest.info())
        let range = options.range ?? ByteRange(first: 0, last: manifest.size - 1)
        guard options.range == nil || (range.first <= range.last && range.last < manifest.size) else {
            throw S3Error(.invalidRange, message: "The requested range is not satisfiable").with("ActualObjectSize", "\(manifest.size)")
        }
        let length = max(0, range.count)
        guard length <= options.maxSize else {
            throw S3Error(.entityTooLarge).with("ProposedSize", "\(length)").with("MaxSizeAllowed", "\(options.maxSize)")
        }
        var body = S3Body.empty
        if length > 0 {
            let bytes = try manifestBytes(manifest, set: sourceLocated.set, range: range.first..<(range.last + 1))
            body = S3Body(stream: bytes, length: length)
        }
        let algorithm = upload.checksumAlgorithm
        let ingest = BodyIngest(maxSize: options.maxSize, expectedSize: length, computing: algorithm)
        return try await storePart(body, ingest: ingest, expectedSize: length, number: partNumber, uploadID: uploadID, place: place, state: state) { checked in
            algorithm.flatMap { algorithm in checked.checksum.map { (algorithm, $0) } }
        }
    }

    /// Codes and stages a part's body under a new attempt, then writes the part's register.
    private func storePart(
        _ body: S3Body, ingest: BodyIngest, expectedSize: Int64?, number: Int, uploadID: String, place: UploadPlace, state: State,
        checksum: (BodyIngest.Checked) -> (algorithm: ChecksumAlgorithm, value: [UInt8])?
    ) async throws -> PartInfo {
        let attempt = WriteID.random().bytes
        let located = place.part(number)
        // Staged under the object's key: the shard order (and so the links at Complete) is the object's.
        let staged = try await stage(
            body: body, ingest: ingest, expectedSize: expectedSize, versionID: attempt, located: place.object, owner: located.key, state: state)
        var layout = staged.part
        layout.number = number
        let sum = checksum(staged.checked)
        let record = PartRecord(
            attempt: Data(attempt), etag: Hex.string(staged.checked.md5), lastModifiedMs: S3Timestamp.now.millisecondsSinceEpoch,
            checksumAlgorithm: sum?.algorithm.rawValue, checksumValue: sum.map { Data($0.value) }, layout: layout)
        // The upload must still be open: checked again now that the body is in (an upload
        // completed or aborted meanwhile leaves this attempt unreferenced).
        do {
            _ = try await openUpload(place, uploadID: uploadID)
        } catch {
            await discard(attempt, located: located, parts: [staged.part])
            throw error
        }
        let value = RegisterValue(writeID: .random(), payload: try record.encoded(), dataRef: attempt)
        // Unconditional, but through compare-and-set so the value it replaced is known.
        let replaced = Mutex<AcceptedValue?>(nil)
        let outcome = await place.object.set.coordinator.compareAndSet(key: located.key, dataQuorum: staged.needed) { current in
            replaced.withLock { $0 = current }
            return .write(value)
        }
        switch outcome {
        case .written:
            // The attempt this one replaced is referenced by nothing now (Complete links what it uses).
            if let previous = replaced.withLock({ $0 }), !previous.value.tombstone,
               let old = try? PartRecord.decode(previous.value), old.attempt != record.attempt {
                collectLater(Array(old.attempt), located: located, parts: [Self.stagedLayout(old.layout)])
            }
            return record.info
        case .unavailable:
            await discard(attempt, located: located, parts: [staged.part])
            _ = try Self.resolve(outcome)
            throw S3Error(.internalError)
        default:
            collectLater(attempt, located: located, parts: [staged.part])
            _ = try Self.resolve(outcome)
            throw S3Error(.internalError)
        }
    }

    /// A part's layout as its attempt staged it: part 1 of the attempt's data.
    static func stagedLayout(_ layout: ObjectManifest.Part) -> ObjectManifest.Part {
        var staged = layout
        staged.number = 1
        return staged
    }

    /// Abort is a compare-and-set from `open` (CLUSTER.md §7). An upload a Complete marked
    /// `completing` is settled first: if that Complete's version was chosen, the upload is
    /// gone (NoSuchUpload); otherwise its version is fenced and the upload aborted.
    public func abortMultipartUpload(_ address: ObjectAddress, uploadID: String) async throws {
        let state = try openState()
        let place = try await place(address, uploadID: uploadID, state: state)
        for _ in 0..<3 {
            let (upload, write) = try await readUpload(place, uploadID: uploadID)
            if let completing = upload.completing {
                switch await fence(completing, place: place) {
                case .completed:
                    if try await replaceUpload(place, write: write, with: nil).done { retireParts(place) }
                    throw S3Error(.noSuchUpload).with("UploadId", uploadID)
                case .undecided:
                    throw S3Error(.serviceUnavailable, message: "The upload is being completed and no quorum of its set's drives answered; retry the abort.")
                case .fenced:
                    break
                }
            }
            if try await replaceUpload(place, write: write, with: nil).done {
                // Only now is the fenced Complete's version unreferenced for good.
                if let completing = upload.completing {
                    collectLater(Array(completing.versionID), located: place.object, parts: completing.parts)
                }
                retireParts(place)
                return
            }
        }
        throw S3Error(.conditionalRequestConflict, message: "The upload kept changing while it was being aborted; retry.")
    }

    /// After a Complete or an Abort: every part register gets a tombstone and each attempt
    /// goes to the collector (a completed object holds its own links to what it uses). In the
    /// background; what a stop interrupts is left for the scanner.
    func retireParts(_ place: UploadPlace) {
        let readQuorum = (try? openState())?.quorum.readQuorum ?? 1
        Task {
            var parts = SetKeySource(set: place.object.set, scope: place.parts, prefix: [], readQuorum: readQuorum)
            while let (key, value) = try? await parts.next() {
                guard let number = PartRecord.number(ofKey: key), let record = try? PartRecord.decode(value.value) else { continue }
                let located = place.part(number)
                let outcome = await place.object.set.coordinator.compareAndSet(key: located.key) { current in
                    current?.value.writeID == value.value.writeID ? .write(RegisterValue(writeID: .random(), tombstone: true)) : .refuse
                }
                guard case .written = outcome else { continue }
                collectLater(Array(record.attempt), located: located, parts: [Self.stagedLayout(record.layout)])
            }
        }
    }
}
