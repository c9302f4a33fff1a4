public import StowageCore
import Logging

/// ListParts, ListMultipartUploads and expiry: the upload and part registers listed with the
/// read rule (SetKeySource), exactly as objects are (CLUSTER.md §5), and paged by Core's
/// `ListingPager` as FileStore pages its table.
extension ClusterBackend {
    public func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage {
        let state = try openState()
        let place = try await place(address, uploadID: uploadID, state: state)
        let upload = try await openUpload(place, uploadID: uploadID)
        var source = SetKeySource(set: place.object.set, scope: place.parts, prefix: [], readQuorum: state.quorum.readQuorum)
        if query.partNumberMarker > 0 { try await source.seek(.after(PartRecord.registerKey(query.partNumberMarker))) }
        var parts: [PartInfo] = []
        var truncated = false
        while let (_, value) = try await source.next() {
            guard parts.count < query.maxParts else {
                truncated = true
                break
            }
            parts.append(try Self.decodeOrFail { try PartRecord.decode(value.value) }.info)
        }
        return ListPartsPage(upload: upload.info, parts: parts, isTruncated: truncated, nextPartNumberMarker: parts.last?.partNumber)
    }

    public func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage {
        let state = try openState()
        let record = try await bucketRecord(bucket, state: state)
        var pager = ListingPager<MultipartUploadInfo>(
            prefix: query.prefix, delimiter: query.delimiter, marker: query.keyMarker, maxKeys: query.maxUploads,
            markerInclusive: query.uploadIDMarker != nil)
        var uploads = UploadKeySource(
            MergedKeyCursor(try await pool(of: record, state: state).1.sets(ofPool: record.pool).map {
                SetKeySource(set: $0, scope: MultipartScopes.uploads(bucketID: Array(record.id)), prefix: pager.prefix, readQuorum: state.quorum.readQuorum)
            }),
            keyMarker: query.keyMarker.map { Array($0.utf8) }, uploadIDMarker: query.uploadIDMarker)
        // max-uploads=0 answers no uploads, truncated when some exist (as FileStore answers).
        if query.maxUploads == 0 {
            if let marker = query.keyMarker.map({ Array($0.utf8) }) {
                // With an upload-ID marker the marker key's later uploads count (the source filters them).
                try await uploads.seek(query.uploadIDMarker == nil ? .after(marker) : .atOrAfter(marker))
            }
            return ListUploadsPage(uploads: [], commonPrefixes: [], isTruncated: try await uploads.next() != nil, nextKeyMarker: nil, nextUploadIDMarker: nil)
        }
        return ListUploadsPage(try await pager.fill(from: &uploads) { _, upload in upload.info })
    }

    public func expireMultipartUploads(initiatedBefore cutoff: S3Timestamp) async throws -> Int {
        var expired = 0
        for bucket in try await listBuckets() {
            expired += try await abortUploads(bucket: bucket.name, initiatedBefore: cutoff)
        }
        if expired > 0 { logger.info("expired stale multipart uploads", metadata: ["count": "\(expired)"]) }
        return expired
    }

    /// Aborts the bucket's uploads (those initiated before `cutoff`, or all); how many.
    /// `force`: DeleteBucket's, once the bucket's objects are fenced: an upload being completed
    /// cannot complete any more, so it goes without settling its Complete first.
    func abortUploads(bucket: String, initiatedBefore cutoff: S3Timestamp? = nil, force: Bool = false) async throws -> Int {
        var aborted = 0
        var marker: (key: String, uploadID: String)?
        while true {
            let page = try await listMultipartUploads(bucket: bucket, query: ListUploadsQuery(
                keyMarker: marker?.key, uploadIDMarker: marker?.uploadID, maxUploads: 1_000))
            for upload in page.uploads where cutoff.map({ upload.initiated.millisecondsSinceEpoch < $0.millisecondsSinceEpoch }) ?? true {
                do {
                    let address = ObjectAddress(bucket: bucket, key: upload.key)
                    if force {
                        try await dropUpload(address, uploadID: upload.uploadID)
                    } else {
                        try await abortMultipartUpload(address, uploadID: upload.uploadID)
                    }
                    aborted += 1
                } catch let error as S3Error where error.code == .noSuchUpload {
                    continue
                }
            }
            guard page.isTruncated, let last = page.uploads.last else { break }
            marker = (last.key, last.uploadID)
        }
        return aborted
    }
}

/// The live uploads of a bucket in listing order (key, then upload ID), keyed by object key:
/// the merged upload registers with an upload-ID marker applied. Register keys are
/// `<key> 0x00 <upload ID>`, so "after key k" is "at or after k ‖ 0x01".
struct UploadKeySource: OrderedKeySource {
    typealias Value = UploadRecord

    private var registers: MergedKeyCursor<SetKeySource>
    private let keyMarker: [UInt8]?
    private let uploadIDMarker: String?

    init(_ registers: MergedKeyCursor<SetKeySource>, keyMarker: [UInt8]?, uploadIDMarker: String?) {
        self.registers = registers
        self.keyMarker = keyMarker
        self.uploadIDMarker = uploadIDMarker
    }

    mutating func next() async throws -> (key: [UInt8], value: UploadRecord)? {
        while let (_, copies) = try await registers.next() {
            let upload = try ClusterBackend.decodeOrFail { try UploadRecord.decode(copies[0].value.value) }
            let key = Array(upload.key.utf8)
            if let uploadIDMarker, key == keyMarker, upload.uploadID <= uploadIDMarker { continue }
            return (key, upload)
        }
        return nil
    }

    mutating func seek(_ position: ListingPosition) async throws {
        switch position {
        case .atOrAfter(let key): try await registers.seek(.atOrAfter(key))
        case .after(let key): try await registers.seek(.atOrAfter(key + [1]))
        }
    }
}
