import Foundation
import GRDB
public import StowageCore
import StowageLocalFiles
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

/// ListParts, ListMultipartUploads, expiry, and start-up recovery of upload directories.
extension FileStoreBackend {
    public func listParts(_ address: ObjectAddress, uploadID: String, query: ListPartsQuery) async throws -> ListPartsPage {
        let state = try openState()
        let bucket = try bucketRecord(address.bucket)
        return try mapErrors {
            try state.index.read { db in
                let upload = try self.upload(uploadID, address: address, bucket: bucket, db)
                let stored = try ObjectIndex.storedParts(uploadID, db, after: query.partNumberMarker, limit: query.maxParts + 1)
                let page = Array(stored.prefix(query.maxParts)).map(\.info)
                let truncated = stored.count > query.maxParts
                return ListPartsPage(upload: upload.info, parts: page, isTruncated: truncated,
                                     nextPartNumberMarker: page.last?.partNumber)
            }
        }
    }

    public func listMultipartUploads(bucket: String, query: ListUploadsQuery) async throws -> ListUploadsPage {
        let state = try openState()
        let record = try bucketRecord(bucket)
        return try mapErrors {
            try state.index.read { db in try MultipartListing.list(db, bucketID: record.id, query: query) }
        }
    }

    public func expireMultipartUploads(initiatedBefore cutoff: S3Timestamp) async throws -> Int {
        let state = try openState()
        let expired = try mapErrors {
            try state.index.write { db in try ObjectIndex.deleteUploads(initiatedBefore: cutoff, db) }
        }
        for id in expired { removeUploadDirectory(id, state: state) }
        if !expired.isEmpty { logger.info("expired stale multipart uploads", metadata: ["count": "\(expired.count)"]) }
        return expired.count
    }

    /// Start-up: remove upload directories without a row, and part files no row points to.
    func recoverMultipart(_ state: OpenState) throws {
        try POSIXFiles.makeDirectory(at: state.rootFD, Self.multipartDirectory)
        let root = try POSIXFiles.openDirectory(at: state.rootFD, Self.multipartDirectory)
        defer { POSIXFiles.closeDescriptor(root) }
        let (uploads, files) = try state.index.read { db in try ObjectIndex.uploadIDsAndPartFiles(db) }
        for entry in try POSIXFiles.directoryEntries(root) {
            guard entry.isDirectory, uploads.contains(entry.name) else {
                removeUploadDirectory(entry.name, state: state)
                if !entry.isDirectory { try? POSIXFiles.unlinkFile(at: root, entry.name) }
                continue
            }
            let fd = try POSIXFiles.openDirectory(at: root, entry.name)
            defer { POSIXFiles.closeDescriptor(fd) }
            for part in try POSIXFiles.directoryEntries(fd) where !files.contains(entry.name + "/" + part.name) {
                try? POSIXFiles.unlinkFile(at: fd, part.name)
            }
        }
    }
}
