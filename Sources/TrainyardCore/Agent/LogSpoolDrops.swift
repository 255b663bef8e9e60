/// The log lines a host's agent could not keep, counted since the host started: lines its spool refused because the
/// lines not yet shipped had reached the spool's cap (the server was unreachable or slow to take them), and lines it
/// could not write at all (the disk under the spool was full). Totals only grow, so a report sent twice changes nothing:
/// the server compares them with the totals it has and tells the job's owner about the difference, in the job's events.
public struct LogSpoolDrops: Codable, Sendable, Equatable {
    /// Lines refused at the cap, and the bytes of their messages.
    public var cappedLines: Int64
    public var cappedBytes: Int64
    /// Lines that could not be written to the spool, and the bytes of their messages.
    public var unwritableLines: Int64
    public var unwritableBytes: Int64
    /// The spool's cap: bytes of lines not yet shipped that it holds at most.
    public var capBytes: Int64

    public init(cappedLines: Int64 = 0, cappedBytes: Int64 = 0, unwritableLines: Int64 = 0, unwritableBytes: Int64 = 0, capBytes: Int64) {
        self.cappedLines = cappedLines
        self.cappedBytes = cappedBytes
        self.unwritableLines = unwritableLines
        self.unwritableBytes = unwritableBytes
        self.capBytes = capBytes
    }

    /// Whether any line was dropped.
    public var isEmpty: Bool { cappedLines == 0 && unwritableLines == 0 }

    /// These totals, each kept at least at `earlier`'s: what a host's spool dropped so far, as the store keeps it (a
    /// report that raced an earlier one never lowers a total).
    public func keepingHigherTotals(than earlier: LogSpoolDrops?) -> LogSpoolDrops {
        guard let earlier else { return self }
        var kept = self
        kept.cappedLines = max(cappedLines, earlier.cappedLines)
        kept.cappedBytes = max(cappedBytes, earlier.cappedBytes)
        kept.unwritableLines = max(unwritableLines, earlier.unwritableLines)
        kept.unwritableBytes = max(unwritableBytes, earlier.unwritableBytes)
        return kept
    }

    /// What the job's events say about the lines dropped since `earlier` (what the server had recorded), one message
    /// per cause, e.g. `host algo-1 dropped 1234 log lines (5.0 MiB): its log spool reached its 256 MiB cap while the
    /// server was not taking its logs (unreachable or slow)`; none when nothing more was dropped.
    public func messages(since earlier: LogSpoolDrops?, host: String) -> [String] {
        var messages: [String] = []
        let capped = (cappedLines - (earlier?.cappedLines ?? 0), cappedBytes - (earlier?.cappedBytes ?? 0))
        if capped.0 > 0 {
            messages.append(
                "host \(host) dropped \(Self.lines(capped.0)) (\(ByteCount.text(max(capped.1, 0)))): its log spool reached its "
                    + "\(ByteCount.text(capBytes)) cap while the server was not taking its logs (unreachable or slow)")
        }
        let unwritable = (unwritableLines - (earlier?.unwritableLines ?? 0), unwritableBytes - (earlier?.unwritableBytes ?? 0))
        if unwritable.0 > 0 {
            messages.append(
                "host \(host) dropped \(Self.lines(unwritable.0)) (\(ByteCount.text(max(unwritable.1, 0)))): its log spool could not be "
                    + "written because the disk under it was full")
        }
        return messages
    }

    static func lines(_ count: Int64) -> String { count == 1 ? "1 log line" : "\(count) log lines" }

    /// The event type of these messages.
    public static let eventType = JobEventType.logLinesDropped

    enum CodingKeys: String, CodingKey {
        case cappedLines = "capped_lines"
        case cappedBytes = "capped_bytes"
        case unwritableLines = "unwritable_lines"
        case unwritableBytes = "unwritable_bytes"
        case capBytes = "cap_bytes"
    }
}
