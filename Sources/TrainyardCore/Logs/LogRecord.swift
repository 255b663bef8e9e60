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
        Self.appendDecimal(seq, to: &bytes)
        bytes.append(0x09)
        Self.appendDecimal(timeMicros, to: &bytes)
        bytes.append(0x09)
        bytes.append(contentsOf: message.utf8)
        bytes.append(0x0A)
    }

    static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(0x2D) }
        var magnitude = value.magnitude
        let first = bytes.count
        repeat {
            bytes.append(UInt8(truncatingIfNeeded: magnitude % 10) + 0x30)
            magnitude /= 10
        } while magnitude > 0
        bytes[first...].reverse()
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
    ///
    /// The messages come from an agent, which may be crafted: each is made storable (``StorableText``: NULs and invalid
    /// UTF-8 replaced) and cut to `maximumMessageBytes`, the longest piece ``LogLineSplitter`` makes once made storable.
    public static func decode(_ bytes: [UInt8], maximumMessageBytes: Int = LogLineSplitter.maximumStoredBytes) throws(MalformedBatch)
        -> [LogRecord]
    {
        let parsed: Result<[LogRecord], MalformedBatch> = bytes.withUnsafeBytes { buffer in
            Result { () throws(MalformedBatch) in try decode(buffer, maximumMessageBytes: maximumMessageBytes) }
        }
        return try parsed.get()
    }

    /// Parses a batch of records (the bytes of whole records, the last ending in a newline); each message made storable
    /// and cut to `maximumMessageBytes`, as the array form does.
    public static func decode(_ bytes: UnsafeRawBufferPointer, maximumMessageBytes: Int = LogLineSplitter.maximumStoredBytes)
        throws(MalformedBatch) -> [LogRecord]
    {
        var records: [LogRecord] = []
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            guard let end = rest.firstIndex(of: 0x0A) else {
                throw MalformedBatch(line: lineNumber, reason: "the last record does not end with a newline")
            }
            let line = UnsafeRawBufferPointer(rebasing: rest[..<end])
            guard let firstTab = line.firstIndex(of: 0x09),
                let secondTab = UnsafeRawBufferPointer(rebasing: line[(firstTab + 1)...]).firstIndex(of: 0x09).map({ $0 + firstTab + 1 }),
                let seq = parseDecimal(UnsafeRawBufferPointer(rebasing: line[..<firstTab])), seq > 0,
                let time = parseDecimal(UnsafeRawBufferPointer(rebasing: line[(firstTab + 1)..<secondTab]))
            else {
                throw MalformedBatch(line: lineNumber, reason: "expected <seq>\\t<time micros>\\t<message> with a positive seq")
            }
            let message = StorableText.decode(UnsafeRawBufferPointer(rebasing: line[(secondTab + 1)...]), maximumBytes: maximumMessageBytes)
            records.append(LogRecord(seq: seq, timeMicros: time, message: message))
            start += end + 1
        }
        return records
    }

    /// ASCII decimal digits with an optional leading `-`, without building a String.
    static func parseDecimal(_ digits: UnsafeRawBufferPointer) -> Int64? {
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
        return negative ? -value : value
    }
}

/// The server's answer to a shipped log batch.
public struct LogBatchReceipt: Sendable, Equatable {
    /// Records of the batch stored now (a retried batch stores none).
    public var stored: Int
    /// The host's highest sequence number now stored.
    public var lastSeq: Int64

    public init(stored: Int, lastSeq: Int64) {
        self.stored = stored
        self.lastSeq = lastSeq
    }
}
