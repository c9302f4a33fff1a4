import CLibXML2
public import NIOCore
import StowageCore

/// A parsed XML element: local name, direct text, children. Request documents are small
/// (at most a few MiB), so a tiny tree is simpler and safer than streaming callbacks.
public struct XMLTreeElement: Sendable {
    public var name: String
    public var text: String
    public var children: [XMLTreeElement]

    public func child(_ name: String) -> XMLTreeElement? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLTreeElement] { children.filter { $0.name == name } }
}

/// Parses request documents with libxml2's reader: no network access, no entity expansion,
/// no DTDs (a document with a DOCTYPE is rejected), bounded depth.
public enum XMLDocumentParser {
    static let maxDepth = 32

    /// Parses `buffer`; throws `MalformedXML` for anything that is not one well-formed element tree.
    public static func parse(_ buffer: ByteBuffer) throws -> XMLTreeElement {
        LibXML.initialize()
        guard buffer.readableBytes > 0 else { throw S3Error(.malformedXML) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        return try buffer.withUnsafeReadableBytes { bytes -> XMLTreeElement in
            guard let reader = xmlReaderForMemory(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil, "UTF-8", options) else {
                throw S3Error(.malformedXML)
            }
            defer { xmlFreeTextReader(reader) }
            xmlTextReaderSetStructuredErrorHandler(reader, { _, _ in }, nil)

            var stack: [XMLTreeElement] = []
            var root: XMLTreeElement?
            while true {
                let status = xmlTextReaderRead(reader)
                if status == 0 { break }
                guard status == 1 else { throw S3Error(.malformedXML) }
                let type = xmlTextReaderNodeType(reader)
                switch type {
                case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                    guard root == nil, stack.count < maxDepth, let name = xmlTextReaderConstLocalName(reader) else { throw S3Error(.malformedXML) }
                    let element = XMLTreeElement(name: String(cString: name), text: "", children: [])
                    if xmlTextReaderIsEmptyElement(reader) == 1 {
                        try attach(element, to: &stack, root: &root)
                    } else {
                        stack.append(element)
                    }
                case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                    guard let element = stack.popLast() else { throw S3Error(.malformedXML) }
                    try attach(element, to: &stack, root: &root)
                case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
                    Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue), Int32(XML_READER_TYPE_WHITESPACE.rawValue):
                    if !stack.isEmpty, let value = xmlTextReaderConstValue(reader) {
                        stack[stack.count - 1].text += String(cString: value)
                    }
                case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue), Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue),
                    Int32(XML_READER_TYPE_ENTITY.rawValue):
                    throw S3Error(.malformedXML)
                default:
                    continue
                }
            }
            guard stack.isEmpty, let root else { throw S3Error(.malformedXML) }
            return root
        }
    }

    private static func attach(_ element: XMLTreeElement, to stack: inout [XMLTreeElement], root: inout XMLTreeElement?) throws {
        if stack.isEmpty {
            guard root == nil else { throw S3Error(.malformedXML) }
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }
}
