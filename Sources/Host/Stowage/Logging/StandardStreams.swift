import Glibc

/// Whole writes to standard output and error, bypassing stdio buffering: each call is one
/// line or record that must arrive entire (the ready line, a management reply, a JSON log line).
///
/// ```swift
/// StandardStreams.write("Stowage listening on http://127.0.0.1:3000\n", to: .output)
/// ```
public enum StandardStreams {
    public enum Stream: Int32, Sendable {
        case output = 1
        case error = 2
    }

    public static func write(_ text: String, to stream: Stream) {
        Array(text.utf8).withUnsafeBytes { write($0, to: stream) }
    }

    /// Loops until every byte is written (a pipe may take a long line in pieces); gives up
    /// quietly if the reader has gone.
    public static func write(_ buffer: UnsafeRawBufferPointer, to stream: Stream) {
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(stream.rawValue, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0, errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
