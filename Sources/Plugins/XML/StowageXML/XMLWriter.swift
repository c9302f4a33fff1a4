import CLibXML2
public import NIOCore

/// A thin wrapper over libxml2's `xmlTextWriter` writing into memory. libxml2 escapes text;
/// characters XML 1.0 cannot carry literally become character references, as S3 writes them.
///
/// ```swift
/// let writer = XMLWriter()
/// writer.start("CopyObjectResult", namespace: XMLWriter.s3Namespace)
/// writer.element("ETag", "\"abc\"")
/// writer.end()
/// let bytes = writer.finish()
/// ```
public final class XMLWriter {
    public static let s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    private let buffer: xmlBufferPtr
    private var writer: xmlTextWriterPtr?

    public init() {
        LibXML.initialize()
        buffer = xmlBufferCreate()
        writer = xmlNewTextWriterMemory(buffer, 0)
        xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil)
    }

    deinit {
        if let writer { xmlFreeTextWriter(writer) }
        xmlBufferFree(buffer)
    }

    public func start(_ name: String, namespace: String? = nil) {
        xmlTextWriterStartElement(writer, name)
        if let namespace { xmlTextWriterWriteAttribute(writer, "xmlns", namespace) }
    }

    /// An attribute of the element just started.
    public func attribute(_ name: String, _ value: String) {
        xmlTextWriterWriteAttribute(writer, name, value)
    }

    public func end() {
        xmlTextWriterEndElement(writer)
    }

    /// `<name>text</name>`.
    public func element(_ name: String, _ text: String) {
        xmlTextWriterStartElement(writer, name)
        self.text(text)
        xmlTextWriterEndElement(writer)
    }

    /// `<name>text</name>` only when `text` is non-nil.
    public func element(_ name: String, ifPresent text: String?) {
        if let text { element(name, text) }
    }

    /// An element holding nested elements.
    public func element(_ name: String, namespace: String? = nil, _ body: () -> Void) {
        start(name, namespace: namespace)
        body()
        end()
    }

    /// Element content. libxml2 escapes `&`, `<`, `>` and `\r`; other control characters
    /// (invalid in XML 1.0 text) are written as numeric references so the document stays
    /// parseable by lenient readers and the key survives; S3 documents the same limitation
    /// and `encoding-type=url` is the portable way to list such keys.
    public func text(_ text: String) {
        if text.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) {
            var escaped = ""
            escaped.reserveCapacity(text.utf8.count + 16)
            for scalar in text.unicodeScalars {
                switch scalar {
                case "&": escaped += "&amp;"
                case "<": escaped += "&lt;"
                case ">": escaped += "&gt;"
                case "\r": escaped += "&#13;"
                case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n":
                    escaped += "&#x\(String(scalar.value, radix: 16, uppercase: true));"
                default: escaped.unicodeScalars.append(scalar)
                }
            }
            xmlTextWriterWriteRaw(writer, escaped)
        } else {
            xmlTextWriterWriteString(writer, text)
        }
    }

    /// Ends the document and returns its bytes. The writer cannot be used afterwards.
    public func finish() -> ByteBuffer {
        xmlTextWriterEndDocument(writer)
        // Freeing the writer flushes it into the buffer.
        xmlFreeTextWriter(writer)
        writer = nil
        let length = Int(xmlBufferLength(buffer))
        var out = ByteBufferAllocator().buffer(capacity: length)
        if let content = xmlBufferContent(buffer), length > 0 {
            out.writeBytes(UnsafeRawBufferPointer(start: content, count: length))
        }
        return out
    }
}

/// One-time libxml2 set-up (thread-safe initialisation; silence its stderr printing).
enum LibXML {
    private static let once: Void = {
        xmlInitParser()
        // libxml2 reports structured errors through this callback; errors surface as nil
        // results instead of lines on stderr.
        xmlSetStructuredErrorFunc(nil) { _, _ in }
    }()

    static func initialize() { _ = once }
}
