import NIOCore
import HTTPTypes
import Synchronization

/// A browser upload's form (PostObject, `POST /{bucket}` with `multipart/form-data`): the fields
/// before the file part, in order, and the file's content as a stream read from the request as
/// it is consumed. Reading the form reads the request only up to the file's content, so
/// authentication can check the policy's signature before a byte of the file is stored.
///
/// ```swift
/// let form = try await PostObjectForm.read(request)
/// form.value("key")          // "uploads/${filename}" (field names are case-insensitive)
/// for try await chunk in form.file { ... }
/// ```
public struct PostObjectForm: Sendable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// The fields before the file part, in the order sent.
    public var fields: [Field]
    /// The file part's `filename` (what `${filename}` expands to, without any path).
    public var fileName: String
    /// The file part's own `Content-Type`.
    public var fileContentType: String?
    /// The file's bytes, single-pass. The stream fails with `MalformedPOSTRequest` if the form
    /// ends before the file part does, before it reports its end, so nothing is stored.
    public var file: S3Body

    /// S3 limits the form fields and boundaries before the file to 20 KB.
    public static let maxPreDataBytes = 20 * 1024
    /// Raw bytes read beyond the 20 KB before the file's head is seen: room for the chunk
    /// that carries the head along with the first of the file's bytes.
    static let maxRawSlack = 256 * 1024
    /// Fields after the file are ignored; this much of them is read to see the form end.
    static let maxTrailingBytes = 64 * 1024

    /// A field's value by case-insensitive name ("The post parameters are case insensitive");
    /// a repeated field's values are joined with commas, as S3 matches them.
    public func value(_ name: String) -> String? {
        let lowered = name.lowercased()
        let values = fields.filter { $0.name.lowercased() == lowered }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }

    /// The field names, lowercased, in order, without repeats.
    public var fieldNames: [String] {
        var seen: Set<String> = []
        return fields.map { $0.name.lowercased() }.filter { seen.insert($0).inserted }
    }

    /// Reads `request`'s form up to the start of the file's content.
    public static func read(_ request: S3Request) async throws -> PostObjectForm {
        let boundary = try Self.boundary(request.headers[.contentType])
        let cursor = FormCursor(body: request.body.makeAsyncIterator(), decoder: try MultipartFormDecoder(boundary: boundary))
        // The raw count bounds what the fields' count cannot see (a preamble, padding): an
        // anonymous caller gets at most this much read before the form is refused.
        cursor.rawLimit = maxPreDataBytes + maxRawSlack
        var fields: [Field] = []
        var preData = 0
        var current: (head: MultipartFormDecoder.PartHead, value: ByteBuffer)?
        while let event = try await cursor.next() {
            switch event {
            case .head(let head):
                preData += head.name.utf8.count + (head.filename?.utf8.count ?? 0)
                if head.name.lowercased() == "file" {
                    cursor.rawLimit = nil
                    let name = head.filename.map(Self.lastPathComponent) ?? ""
                    return PostObjectForm(fields: fields, fileName: name, fileContentType: head.contentType,
                                          file: S3Body(stream: FileContent(cursor: cursor), length: nil))
                }
                current = (head, ByteBuffer())
            case .data(var bytes):
                preData += bytes.readableBytes
                current?.value.writeBuffer(&bytes)
            case .partEnd:
                if let (head, value) = current {
                    fields.append(Field(name: head.name, value: String(decoding: value.readableBytesView, as: UTF8.self)))
                }
                current = nil
            case .end:
                throw S3Error.invalidArgument("POST requires exactly one file upload per request.", name: "file", value: "0")
            }
            guard preData <= maxPreDataBytes else {
                throw S3Error(.maxPostPreDataLengthExceededError).with("MaxPostPreDataLength", "\(maxPreDataBytes)")
            }
        }
        throw S3Error.invalidArgument("POST requires exactly one file upload per request.", name: "file", value: "0")
    }

    /// The `boundary` parameter of a `multipart/form-data` Content-Type; 412 for anything else.
    static func boundary(_ contentType: String?) throws -> String {
        let parameters = HeaderParameters.parse(contentType ?? "")
        guard parameters.value.lowercased() == "multipart/form-data" else {
            throw S3Error(.preconditionFailed, message: "Bucket POST must be of the enclosure-type multipart/form-data")
                .with("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")
        }
        guard let boundary = parameters["boundary"], !boundary.isEmpty else {
            throw S3Error(.malformedPOSTRequest, message: "The multipart/form-data Content-Type has no boundary.")
        }
        return boundary
    }

    /// "If the browser or client provides a full or partial path to the file, only the text
    /// following the last slash (/) or backslash (\) is used."
    static func lastPathComponent(_ name: String) -> String {
        guard let separator = name.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return name }
        return String(name[name.index(after: separator)...])
    }
}

extension S3Context {
    /// The browser upload's form: the one a stage already read, or read from `request` now and
    /// kept here (the body can be read only once).
    public mutating func readPostForm(_ request: S3Request) async throws -> PostObjectForm {
        if let postForm { return postForm }
        let form = try await PostObjectForm.read(request)
        postForm = form
        return form
    }
}

/// The request body decoded as a form, shared by the field reader and then the file's stream.
///
/// `@unchecked Sendable` is safe because a request body is single-pass with one consumer at a
/// time: `PostObjectForm.read` uses the cursor until it reaches the file part, then hands it to
/// the file's `S3Body`, whose one iterator is driven by the one task that stores the file. The
/// handoff is ordered by that task's `await` chain; no two tasks ever use the cursor at once.
final class FormCursor: @unchecked Sendable {
    private var body: S3Body.AsyncIterator
    private var decoder: MultipartFormDecoder
    private var events: [MultipartFormDecoder.Event] = []
    private var index = 0
    private var inputEnded = false
    /// Request bytes read so far.
    private(set) var consumed = 0
    /// While set, reading past this many bytes fails with `MaxPostPreDataLengthExceededError`.
    var rawLimit: Int?
    private let fileClaimed = Atomic(false)

    /// `true` the first time only: the file's content is one stream, read once.
    func claimFile() -> Bool {
        !fileClaimed.exchange(true, ordering: .acquiringAndReleasing)
    }

    init(body: S3Body.AsyncIterator, decoder: MultipartFormDecoder) {
        self.body = body
        self.decoder = decoder
    }

    /// The next decoded event; `nil` once the input ended with the form complete.
    func next() async throws -> MultipartFormDecoder.Event? {
        while index >= events.count {
            events.removeAll(keepingCapacity: true)
            index = 0
            if inputEnded { return nil }
            guard var chunk = try await body.next() else {
                inputEnded = true
                try decoder.finish()
                continue
            }
            consumed += chunk.readableBytes
            if let rawLimit, consumed > rawLimit {
                throw S3Error(.maxPostPreDataLengthExceededError).with("MaxPostPreDataLength", "\(PostObjectForm.maxPreDataBytes)")
            }
            try decoder.feed(&chunk, into: &events)
        }
        defer { index += 1 }
        return events[index]
    }
}

/// The file part's content. After the part ends, the rest of the form (fields after the file,
/// which S3 ignores) is read up to its closing boundary, so a form cut short fails the stream.
struct FileContent: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    typealias Failure = any Error
    let cursor: FormCursor

    struct AsyncIterator: AsyncIteratorProtocol {
        let cursor: FormCursor
        /// A second iteration of the single-pass file fails rather than interleaving reads.
        let claimed: Bool
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard claimed else { throw S3Error(.internalError, message: "The upload's file was read twice.") }
            guard !finished else { return nil }
            while let event = try await cursor.next() {
                switch event {
                case .data(let bytes):
                    if bytes.readableBytes > 0 { return bytes }
                case .partEnd:
                    try await skipTrailingFields()
                    finished = true
                    return nil
                case .head, .end:
                    throw S3Error(.malformedPOSTRequest, message: "The file part of the form did not end properly.")
                }
            }
            throw S3Error(.malformedPOSTRequest, message: "The body of your POST request ended inside the file part.")
        }

        /// Reads the fields after the file, up to the closing boundary, but no more than
        /// `maxTrailingBytes` of request (parts without content count too): past that, reading
        /// stops, as what follows cannot change the upload.
        private func skipTrailingFields() async throws {
            let start = cursor.consumed
            while let event = try await cursor.next() {
                if case .end = event { return }
                if cursor.consumed - start > PostObjectForm.maxTrailingBytes { return }
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(cursor: cursor, claimed: cursor.claimFile()) }
}
