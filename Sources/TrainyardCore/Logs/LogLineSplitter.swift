/// Cuts a byte stream (a process's stdout or stderr, read in arbitrary chunks) into log lines.
///
/// A line ends at `\n` (a `\r` before it is dropped); a line longer than ``maximumBytes`` is split into pieces of at most
/// that size, at a UTF-8 character boundary where one is near; invalid UTF-8 is replaced by U+FFFD, never rejected; what
/// is left when the stream ends is a last line of its own.
public struct LogLineSplitter: Sendable {
    /// CloudWatch Logs takes events up to 256 KiB; shorter pieces keep batches and SSE events small.
    public static let defaultMaximumBytes = 16 * 1024

    public let maximumBytes: Int
    private var pending: [UInt8] = []

    public init(maximumBytes: Int = LogLineSplitter.defaultMaximumBytes) {
        precondition(maximumBytes >= 4, "a line piece must hold at least one UTF-8 character")
        self.maximumBytes = maximumBytes
    }

    /// The lines completed by `chunk`.
    public mutating func append(_ chunk: some Collection<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in chunk {
            if byte == 0x0A {
                lines.append(Self.decode(pending, droppingCarriageReturn: true))
                pending.removeAll(keepingCapacity: true)
                continue
            }
            pending.append(byte)
            if pending.count >= maximumBytes {
                let cut = Self.boundary(in: pending)
                lines.append(Self.decode(pending[..<cut], droppingCarriageReturn: false))
                pending.removeFirst(cut)
            }
        }
        return lines
    }

    /// The last, unterminated line, if any: call once the stream ended.
    public mutating func finish() -> [String] {
        guard !pending.isEmpty else { return [] }
        defer { pending.removeAll() }
        return [Self.decode(pending, droppingCarriageReturn: true)]
    }

    /// Where to cut a full buffer: before the start of a UTF-8 sequence that the cut would break, when one starts in
    /// the last three bytes; otherwise (binary garbage) at the full length.
    static func boundary(in bytes: [UInt8]) -> Int {
        for back in 1...min(3, bytes.count - 1) {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 == 0x80 { continue }  // a continuation byte: keep looking for the sequence's start
            if byte & 0x80 == 0 { return bytes.count }  // ASCII: the buffer ends on a whole character
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2  // a leading byte: does its sequence fit?
            return length > back ? bytes.count - back : bytes.count
        }
        return bytes.count
    }

    static func decode(_ bytes: some BidirectionalCollection<UInt8>, droppingCarriageReturn: Bool) -> String {
        if droppingCarriageReturn, bytes.last == 0x0D { return String(decoding: bytes.dropLast(), as: UTF8.self) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
