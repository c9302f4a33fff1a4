#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time with millisecond precision, as S3 reports it.
///
/// Formatting is written by hand (`gmtime_r`/`timegm`) because it sits on every response's
/// hot path and needs no locale or calendar machinery.
///
/// ```swift
/// S3Timestamp(millisecondsSinceEpoch: 0).iso8601   // "1970-01-01T00:00:00.000Z"
/// S3Timestamp(millisecondsSinceEpoch: 0).httpDate  // "Thu, 01 Jan 1970 00:00:00 GMT"
/// ```
public struct S3Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static var now: S3Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return S3Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public var secondsSinceEpoch: Int64 { millisecondsSinceEpoch >= 0 ? millisecondsSinceEpoch / 1000 : (millisecondsSinceEpoch - 999) / 1000 }

    /// Truncated to whole seconds, the precision of HTTP dates.
    public var wholeSeconds: S3Timestamp { S3Timestamp(millisecondsSinceEpoch: secondsSinceEpoch * 1000) }

    public static func < (lhs: S3Timestamp, rhs: S3Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    public var description: String { iso8601 }

    private func brokenDown() -> tm {
        var seconds = time_t(secondsSinceEpoch)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    /// `2009-10-12T17:50:30.000Z`, as in listings and XML documents.
    public var iso8601: String {
        let t = brokenDown()
        let millis = Int(millisecondsSinceEpoch - secondsSinceEpoch * 1000)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendDigits(&out, Int(t.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        appendDigits(&out, Int(t.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        appendDigits(&out, Int(t.tm_mday), 2); out.append(UInt8(ascii: "T"))
        appendDigits(&out, Int(t.tm_hour), 2); out.append(UInt8(ascii: ":"))
        appendDigits(&out, Int(t.tm_min), 2); out.append(UInt8(ascii: ":"))
        appendDigits(&out, Int(t.tm_sec), 2); out.append(UInt8(ascii: "."))
        appendDigits(&out, millis, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `Wed, 12 Oct 2009 17:50:30 GMT` (RFC 7231 IMF-fixdate), as in `Last-Modified`.
    public var httpDate: String {
        let t = brokenDown()
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var out: [UInt8] = []
        out.reserveCapacity(29)
        out.append(contentsOf: days[Int(t.tm_wday)].utf8); out.append(contentsOf: ", ".utf8)
        appendDigits(&out, Int(t.tm_mday), 2); out.append(UInt8(ascii: " "))
        out.append(contentsOf: months[Int(t.tm_mon)].utf8); out.append(UInt8(ascii: " "))
        appendDigits(&out, Int(t.tm_year) + 1900, 4); out.append(UInt8(ascii: " "))
        appendDigits(&out, Int(t.tm_hour), 2); out.append(UInt8(ascii: ":"))
        appendDigits(&out, Int(t.tm_min), 2); out.append(UInt8(ascii: ":"))
        appendDigits(&out, Int(t.tm_sec), 2); out.append(contentsOf: " GMT".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses an HTTP date in any of the three RFC 7231 forms (IMF-fixdate, RFC 850, asctime).
    public init?(httpDate: String) {
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        var tokens = httpDate.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard tokens.count >= 4 else { return nil }
        var day: Int?, month: Int?, year: Int?, clock: [Int]?
        if tokens.count >= 5, tokens[1].contains("-") == false, let d = Int(tokens[1]) {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            day = d
            month = months.firstIndex(of: tokens[2].lowercased())
            year = Int(tokens[3])
            clock = tokens[4].split(separator: ":").compactMap { Int($0) }
        } else if tokens[1].contains("-") {
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            let parts = tokens[1].split(separator: "-").map(String.init)
            guard parts.count == 3 else { return nil }
            day = Int(parts[0])
            month = months.firstIndex(of: parts[1].lowercased())
            if let y = Int(parts[2]) { year = y < 100 ? (y < 70 ? 2000 + y : 1900 + y) : y }
            clock = tokens[2].split(separator: ":").compactMap { Int($0) }
        } else {
            // asctime: Sun Nov  6 08:49:37 1994
            tokens = tokens.filter { !$0.isEmpty }
            guard tokens.count == 5 else { return nil }
            month = months.firstIndex(of: tokens[1].lowercased())
            day = Int(tokens[2])
            clock = tokens[3].split(separator: ":").compactMap { Int($0) }
            year = Int(tokens[4])
        }
        guard let day, let month, let year, let clock, clock.count == 3,
            (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2])
        else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(clock[0])
        parts.tm_min = Int32(clock[1])
        parts.tm_sec = Int32(clock[2])
        let seconds = timegm(&parts)
        self.init(millisecondsSinceEpoch: Int64(seconds) * 1000)
    }

    /// Parses `2009-10-12T17:50:30.000Z` or `20091012T175030Z` (the SigV4 form).
    public init?(iso8601: String) {
        let digits = iso8601.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.map { Int($0 - UInt8(ascii: "0")) }
        guard digits.count >= 14, iso8601.hasSuffix("Z") else { return nil }
        func number(_ start: Int, _ count: Int) -> Int { digits[start..<start + count].reduce(0) { $0 * 10 + $1 } }
        var parts = tm()
        parts.tm_year = Int32(number(0, 4) - 1900)
        parts.tm_mon = Int32(number(4, 2) - 1)
        parts.tm_mday = Int32(number(6, 2))
        parts.tm_hour = Int32(number(8, 2))
        parts.tm_min = Int32(number(10, 2))
        parts.tm_sec = Int32(number(12, 2))
        let millis = digits.count >= 17 ? number(14, 3) : 0
        self.init(millisecondsSinceEpoch: Int64(timegm(&parts)) * 1000 + Int64(millis))
    }
}

@inline(__always)
private func appendDigits(_ out: inout [UInt8], _ value: Int, _ width: Int) {
    var divisor = 1
    for _ in 1..<width { divisor *= 10 }
    var remaining = value
    while divisor > 0 {
        out.append(UInt8(ascii: "0") + UInt8((remaining / divisor) % 10))
        remaining %= divisor
        divisor /= 10
    }
}
