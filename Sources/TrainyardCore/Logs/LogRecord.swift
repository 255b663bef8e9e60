/// One log line as the agent spools and ships it: the host's sequence number (from 1, no gaps), the time the agent read
/// it (microseconds since 1970) and the text.
///
/// The wire and spool form is one record per line, `<seq>\t<time>\t<message>\n`: the message never holds a newline
/// (``LogLineSplitter`` cut it there) and may hold tabs, since it is the last field. Shipping a spool range is then a
/// plain copy of its bytes, and parsing it on the server a split on newlines and the first two tabs.
public struct LogRecord: Sendable, Equatable {
    public var seq: Int64
    public var timeMicros: Int64
    public var message: String

    public init(seq: Int64, timeMicros: Int64, message: String) {
        self.seq = seq
        self.timeMicros = timeMicros
        self.message = message
    }

    /// Appends the record's wire form.
    public func encode(into bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(seq).utf8)
        bytes.append(0x09)
        bytes.append(contentsOf: String(timeMicros).utf8)
        bytes.append(0x09)
        bytes.append(contentsOf: message.utf8)
        bytes.append(0x0A)
    }

    /// Why a batch could not be parsed.
    public struct MalformedBatch: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var reason: String
        public var description: String { "log batch line \(line): \(reason)" }

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    /// Parses a batch of records (the bytes of whole records, the last ending in a newline).
    public static func decode(_ bytes: some BidirectionalCollection<UInt8>) throws(MalformedBatch) -> [LogRecord] {
        var records: [LogRecord] = []
        var lineNumber = 0
        var start = bytes.startIndex
        while start != bytes.endIndex {
            lineNumber += 1
            guard let end = bytes[start...].firstIndex(of: 0x0A) else {
                throw MalformedBatch(line: lineNumber, reason: "the last record does not end with a newline")
            }
            let line = bytes[start..<end]
            guard let firstTab = line.firstIndex(of: 0x09), let secondTab = line[line.index(after: firstTab)...].firstIndex(of: 0x09),
                let seq = Int64(decimal: line[line.startIndex..<firstTab]), seq > 0,
                let time = Int64(decimal: line[line.index(after: firstTab)..<secondTab])
            else {
                throw MalformedBatch(line: lineNumber, reason: "expected <seq>\\t<time micros>\\t<message> with a positive seq")
            }
            records.append(LogRecord(seq: seq, timeMicros: time, message: String(decoding: line[line.index(after: secondTab)...], as: UTF8.self)))
            start = bytes.index(after: end)
        }
        return records
    }
}

extension Int64 {
    /// Parses ASCII decimal digits (an optional leading `-`), without building a String.
    init?(decimal digits: some Collection<UInt8>) {
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: Int64 = 0
        var negative = false
        for (offset, byte) in digits.enumerated() {
            if offset == 0, byte == 0x2D, digits.count > 1 {
                negative = true
                continue
            }
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        self = negative ? -value : value
    }
}

/// The server's answer to a shipped log batch.
public struct LogBatchReceipt: Codable, Sendable, Equatable {
    /// Records of the batch stored now (a retried batch stores none).
    public var stored: Int
    /// The host's highest sequence number now stored.
    public var lastSeq: Int64

    public init(stored: Int, lastSeq: Int64) {
        self.stored = stored
        self.lastSeq = lastSeq
    }

    enum CodingKeys: String, CodingKey {
        case stored
        case lastSeq = "last_seq"
    }
}
