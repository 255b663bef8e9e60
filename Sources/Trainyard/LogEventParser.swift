import Foundation
import TrainyardAPI

/// The log stream's Server-Sent Events, parsed a received chunk at a time: the events' lines are split in one pass over
/// the bytes and each line's JSON is read by ``LogLineJSON`` (a `JSONDecoder` and the generated client's byte-at-a-time
/// event reader cost five times what the network does; bench/sdk).
struct LogEventParser {
    /// A line of the stream and the id of its event (a number, as the server writes them, kept as one: it becomes text
    /// only for a reconnection's `Last-Event-ID`).
    struct Event {
        var id: EventID?
        var line: LogLine
    }

    enum EventID: Equatable {
        case number(Int64)
        case text(String)

        var text: String {
            switch self {
            case .number(let number): String(number)
            case .text(let text): text
            }
        }

        init(_ bytes: ArraySlice<UInt8>) {
            var value: Int64 = 0
            if !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ (48...57).contains($0) }) {
                for byte in bytes { value = value * 10 + Int64(byte - 48) }
                self = .number(value)
            } else {
                self = .text(String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    /// Bytes of a line not complete yet.
    private var pending: [UInt8] = []
    /// The fields of the event being read, from its complete lines.
    private var eventID: EventID?
    /// The event's data: a slice of the received bytes, no copy (SSE joins several data lines with a newline).
    private var eventData: ArraySlice<UInt8>?

    /// Takes one received chunk; answers the events it completes, in order. Each byte is looked at once, however the
    /// stream is cut into chunks.
    mutating func feed(_ chunk: ArraySlice<UInt8>) throws -> [Event] {
        var events: [Event] = []
        let newline = UInt8(ascii: "\n")
        var rest = chunk
        while let end = rest.firstIndex(of: newline) {
            if pending.isEmpty {
                try take(rest[rest.startIndex..<end], into: &events)
            } else {
                pending.append(contentsOf: rest[rest.startIndex..<end])
                let line = pending
                pending.removeAll(keepingCapacity: true)
                try take(line[...], into: &events)
            }
            rest = rest[(end + 1)...]
        }
        pending.append(contentsOf: rest)
        return events
    }

    /// One complete line of the stream (without its `\n`).
    private mutating func take(_ whole: ArraySlice<UInt8>, into events: inout [Event]) throws {
        var line = whole
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if line.isEmpty {
            // A blank line ends the event: a line of the log when it carried data.
            if let data = eventData { events.append(Event(id: eventID, line: try Self.decode(data))) }
            eventID = nil
            eventData = nil
            return
        }
        guard line.first != UInt8(ascii: ":") else { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[line.startIndex..<colon]
        var value = colon < line.endIndex ? line[(colon + 1)...] : line[line.endIndex...]
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if field.elementsEqual("data".utf8) {
            if let earlier = eventData {
                eventData = ArraySlice(Array(earlier) + [UInt8(ascii: "\n")] + Array(value))
            } else {
                eventData = value
            }
        } else if field.elementsEqual("id".utf8) {
            eventID = EventID(value)
        }
    }

    static func decode(_ data: ArraySlice<UInt8>) throws -> LogLine {
        if let line = LogLineJSON.parse(data) { return line }
        // Anything the fast reader does not take (another key order with nesting, an exotic number) still decodes.
        return try LogLines.decoder.decode(LogLine.self, from: Data(data))
    }
}

/// A log line's JSON, `{"host": …, "id": …, "message": …, "time": …}` in any order, read straight from its bytes; nil
/// for anything else (the caller falls back to `JSONDecoder`).
enum LogLineJSON {
    static func parse(_ bytes: ArraySlice<UInt8>) -> LogLine? {
        var reader = Reader(bytes: bytes)
        var id: Int64?
        var host: String?
        var message: String?
        var time: Date?
        guard reader.skip(UInt8(ascii: "{")) else { return nil }
        if !reader.skip(UInt8(ascii: "}")) {
            repeat {
                guard let key = reader.string(), reader.skip(UInt8(ascii: ":")) else { return nil }
                switch key {
                case "id": id = reader.integer()
                case "host": host = reader.string()
                case "message": message = reader.string()
                case "time": time = reader.string().flatMap(Self.date)
                default: return nil
                }
            } while reader.skip(UInt8(ascii: ","))
            guard reader.skip(UInt8(ascii: "}")) else { return nil }
        }
        guard reader.atEnd, let id, let host, let message, let time else { return nil }
        return LogLine(id: id, host: host, time: time, message: message)
    }

    /// A time in UTC as the server writes them (`…Z`), read by the API's RFC 3339 reader; nil for any other form (an
    /// offset, say: the caller falls back to the decoder).
    static func date(_ text: String) -> Date? {
        guard text.utf8.last == UInt8(ascii: "Z") else { return nil }
        return FlexibleDateTranscoder.rfc3339(text)
    }

    struct Reader {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.index = bytes.startIndex
        }

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return index == bytes.endIndex
            }
        }

        mutating func skipSpace() {
            while index < bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func skip(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.endIndex, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func integer() -> Int64? {
            skipSpace()
            var value: Int64 = 0
            var digits = 0
            let negative = index < bytes.endIndex && bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            while index < bytes.endIndex, (48...57).contains(bytes[index]) {
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] - 48))
                guard !overflow, !overflow2 else { return nil }
                value = sum
                index += 1
                digits += 1
            }
            guard digits > 0 else { return nil }
            return negative ? -value : value
        }

        /// A JSON string, its escapes resolved; nil when it is not one.
        mutating func string() -> String? {
            guard skip(UInt8(ascii: "\"")) else { return nil }
            let start = index
            // The common case: no escape, one copy.
            while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
            guard index < bytes.endIndex else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
            var out = Array(bytes[start..<index])
            while index < bytes.endIndex {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.endIndex else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A surrogate pair: \uD83D\uDE00.
                            guard index + 1 < bytes.endIndex, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                            index += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default: return nil
                    }
                default:
                    out.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.endIndex else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 48...57: digit = UInt32(byte - 48)
                case 65...70: digit = UInt32(byte - 55)
                case 97...102: digit = UInt32(byte - 87)
                default: return nil
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
