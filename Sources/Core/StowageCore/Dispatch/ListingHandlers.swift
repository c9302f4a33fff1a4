/// ListObjects (v1) and ListObjectsV2.
extension S3Dispatcher {
    static let maxListKeys = 1000

    func listObjectsV1(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let query = request.query
        let encodeURL = try Self.urlEncoding(query)
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let marker = query["marker"] ?? ""
        let maxKeys = try Self.maxKeys(query)

        let page = try await backend.listObjects(
            bucket: bucket,
            query: ListObjectsQuery(prefix: prefix, delimiter: delimiter, after: marker.isEmpty ? nil : marker, maxKeys: maxKeys)
        )
        let encode = Self.keyEncoder(url: encodeURL)
        // Version 1 always lists owners.
        let contents = page.objects.map { listed($0, encodeKey: encode, owner: owner(of: $0, context)) }
        let result = ListBucketResult(
            name: bucket,
            // Version 1 returns Prefix as sent even with encoding-type=url (botocore decodes
            // Key, Marker, NextMarker, Delimiter and CommonPrefixes/Prefix, not this one).
            prefix: prefix,
            marker: encode(marker),
            // S3 returns NextMarker only with a delimiter; without one, clients continue after the last key.
            nextMarker: (delimiter != nil && page.isTruncated) ? page.nextMarker.map(encode) : nil,
            maxKeys: maxKeys,
            delimiter: delimiter.map(encode),
            isTruncated: page.isTruncated,
            contents: contents,
            commonPrefixes: page.commonPrefixes.map(encode),
            encodingType: encodeURL ? "url" : nil
        )
        return .document(.listBucket(result))
    }

    func listObjectsV2(_ bucket: String, _ request: S3Request, _ context: S3Context) async throws -> S3Response {
        let query = request.query
        let encodeURL = try Self.urlEncoding(query)
        let prefix = query["prefix"] ?? ""
        let delimiter = query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = try Self.maxKeys(query)
        let startAfter = query["start-after"].flatMap { $0.isEmpty ? nil : $0 }
        let fetchOwner = query["fetch-owner"]?.lowercased() == "true"
        let token = query["continuation-token"]
        var after = startAfter
        // An empty token is no token (S3 echoes it back empty); any other must be one of ours.
        if let token, !token.isEmpty {
            guard let position = ContinuationToken.decode(token) else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect", name: "continuation-token", value: token)
            }
            after = position
        }

        let page = try await backend.listObjects(
            bucket: bucket, query: ListObjectsQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
        )
        let encode = Self.keyEncoder(url: encodeURL)
        let contents = page.objects.map { listed($0, encodeKey: encode, owner: fetchOwner ? owner(of: $0, context) : nil) }
        let result = ListBucketV2Result(
            name: bucket,
            prefix: encode(prefix),
            maxKeys: maxKeys,
            keyCount: contents.count + page.commonPrefixes.count,
            delimiter: delimiter.map(encode),
            isTruncated: page.isTruncated,
            continuationToken: token,
            nextContinuationToken: page.isTruncated ? page.nextMarker.map(ContinuationToken.encode) : nil,
            startAfter: startAfter.map(encode),
            contents: contents,
            commonPrefixes: page.commonPrefixes.map(encode),
            encodingType: encodeURL ? "url" : nil
        )
        return .document(.listBucketV2(result))
    }

    private func listed(_ info: ObjectInfo, encodeKey: (String) -> String, owner: S3Owner?) -> ListedObject {
        ListedObject(key: encodeKey(info.key), lastModified: info.lastModified, etag: info.quotedETag, size: info.size, storageClass: info.storageClass, owner: owner)
    }

    private func owner(of info: ObjectInfo, _ context: S3Context) -> S3Owner {
        let id = info.ownerID ?? context.identity.canonicalUserID
        return S3Owner(id: id, displayName: id == context.identity.canonicalUserID ? context.identity.displayName : id)
    }

    static func keyEncoder(url: Bool) -> (String) -> String {
        if url { return { PercentEncoding.encodeURLComponentKeepingSlash($0) } }
        return { $0 }
    }

    static func maxKeys(_ query: QueryParameters) throws -> Int {
        guard let value = query["max-keys"] else { return maxListKeys }
        guard let parsed = Int(value), parsed >= 0 else {
            throw S3Error.invalidArgument("Provided max-keys not an integer or within integer range", name: "max-keys", value: value)
        }
        return min(parsed, maxListKeys)
    }

    static func urlEncoding(_ query: QueryParameters) throws -> Bool {
        guard let value = query["encoding-type"] else { return false }
        guard value.lowercased() == "url" else {
            throw S3Error.invalidArgument("Invalid Encoding Method specified in Request", name: "encoding-type", value: value)
        }
        return true
    }
}
