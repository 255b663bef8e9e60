public import Foundation
public import OpenAPIRuntime

/// Dates on the wire: written as ISO 8601 with milliseconds, read with or without fractional seconds, so that
/// `created_after=2026-11-25T09:36:01Z` from a person and `…01.421Z` from a client both work.
package struct FlexibleDateTranscoder: DateTranscoder {
    /// Made once: building the style for every date showed up beside the encoding itself in profiles of `POST /v1/jobs`.
    private static let withFractionalSeconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    package init() {}

    package func encode(_ date: Date) throws -> String {
        date.formatted(Self.withFractionalSeconds)
    }

    package func decode(_ string: String) throws -> Date {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(string) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(string) { return date }
        if let date = Self.rfc3339(string) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(string) is not an ISO 8601 date-time"))
    }

    /// Every RFC 3339 `date-time` (what the spec's `format: date-time` means), where Foundation's ISO 8601 style
    /// refused some: any number of fractional digits, a lowercase `t` or `z`, any offset up to ±23:59, a leap second
    /// (read as the next second). A day the month does not have is refused.
    package static func rfc3339(_ string: String) -> Date? {
        let bytes = Array(string.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int, _ allowed: String) -> Bool { index < bytes.count && allowed.utf8.contains(bytes[index]) }
        guard bytes.count >= 20, let year = number(0..<4), byte(4, "-"), let month = number(5..<7), byte(7, "-"), let day = number(8..<10),
            byte(10, "Tt"), let hour = number(11..<13), byte(13, ":"), let minute = number(14..<16), byte(16, ":"), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index, ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start, let digits = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self)) else { return nil }
            fraction = digits
        }
        var offset = 0
        if byte(index, "Zz"), index + 1 == bytes.count {
            offset = 0
        } else if byte(index, "+-"), index + 6 == bytes.count, let hours = number(index + 1..<index + 3), byte(index + 3, ":"),
            let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60
        {
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        // Days from 1970-01-01 in the proleptic Gregorian calendar (RFC 3339's), after Howard Hinnant's days_from_civil.
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }
}
