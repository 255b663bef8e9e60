/// Cuts a byte stream (a process's stdout or stderr, read in arbitrary chunks) into log lines.
///
/// A line ends at `\n` (a `\r` before it is dropped); a line longer than ``maximumBytes`` is split into pieces of at most
/// that size, at a UTF-8 character boundary where one is near; invalid UTF-8 and NUL bytes are replaced by U+FFFD, never
/// rejected (``StorableText``: the lines are stored as PostgreSQL text); what is left when the stream ends is a last
/// line of its own.
///
/// It works on raw buffers (a chatty command prints hundreds of megabytes): a line that arrives whole in one chunk is
/// decoded straight from the chunk; only a line spread over chunks is gathered in a buffer first.
public struct LogLineSplitter: Sendable {
    /// CloudWatch Logs takes events up to 256 KiB; shorter pieces keep batches and SSE events small.
    public static let defaultMaximumBytes = 16 * 1024
    /// The longest piece once made storable: every byte of a cut piece that is not valid UTF-8 becomes U+FFFD, three
    /// bytes, so a 16 KiB piece of binary output may grow to 48 KiB; the server keeps that much of a message.
    public static let maximumStoredBytes = 3 * defaultMaximumBytes

    public let maximumBytes: Int
    private var pending: [UInt8] = []

    public init(maximumBytes: Int = LogLineSplitter.defaultMaximumBytes) {
        precondition(maximumBytes >= 4, "a line piece must hold at least one UTF-8 character")
        self.maximumBytes = maximumBytes
    }

    /// The lines completed by `chunk`.
    public mutating func append(_ chunk: [UInt8]) -> [String] {
        chunk.withUnsafeBytes { append($0) }
    }

    /// The lines completed by `chunk`.
    public mutating func append(_ chunk: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        var start = 0
        while start < chunk.count {
            let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
            guard let newline = rest.firstIndex(of: 0x0A) else {
                pending.append(contentsOf: rest)
                cutPieces(into: &lines)
                break
            }
            let line = UnsafeRawBufferPointer(rebasing: rest[..<newline])
            if pending.isEmpty, line.count <= maximumBytes {
                lines.append(Self.decode(line))
            } else {
                pending.append(contentsOf: line)
                cutPieces(into: &lines)
                lines.append(pending.withUnsafeBytes { Self.decode($0) })
                pending.removeAll(keepingCapacity: true)
            }
            start += newline + 1
        }
        return lines
    }

    /// The last, unterminated line, if any: call once the stream ended.
    public mutating func finish() -> [String] {
        guard !pending.isEmpty else { return [] }
        defer { pending.removeAll() }
        return [pending.withUnsafeBytes { Self.decode($0) }]
    }

    /// Moves whole pieces out of a line longer than the limit, so that at most ``maximumBytes`` stay pending.
    private mutating func cutPieces(into lines: inout [String]) {
        var consumed = 0
        while pending.count - consumed > maximumBytes {
            let cut = pending.withUnsafeBytes { Self.boundary(in: UnsafeRawBufferPointer(rebasing: $0[consumed...]), limit: maximumBytes) }
            lines.append(pending.withUnsafeBytes { StorableText.decode(UnsafeRawBufferPointer(rebasing: $0[consumed..<(consumed + cut)])) })
            consumed += cut
        }
        if consumed > 0 { pending.removeFirst(consumed) }
    }

    /// Where to cut the first `limit` bytes: before the start of a UTF-8 sequence that the cut would break, when one
    /// starts in the last three bytes before the limit; otherwise (binary garbage) at the limit.
    static func boundary(in bytes: UnsafeRawBufferPointer, limit: Int) -> Int {
        for back in 1...3 {
            let byte = bytes[limit - back]
            if byte & 0xC0 == 0x80 { continue }  // a continuation byte: keep looking for the sequence's start
            if byte & 0x80 == 0 { return limit }  // ASCII: the piece ends on a whole character
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2  // a leading byte: does its sequence fit?
            return length > back ? limit - back : limit
        }
        return limit
    }

    /// The line's text, without a trailing `\r`, made storable.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.last == 0x0D ? bytes.count - 1 : bytes.count
        return StorableText.decode(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
    }
}
