import Foundation
import TrainyardCore

/// What jobs print and measure: their log lines, and the metric points extracted from the lines (the job's metric
/// definitions) or sampled by the agents (system metrics).
///
/// ``PostgresStore`` is the service's implementation; ``InMemoryLogRepository`` is its twin for fast tests. Both pass
/// `LogRepositoryContractTests`.
public protocol LogRepository: Sendable {
    /// Stores the records of `host` above the highest sequence number it has stored, with the metric points extracted
    /// from them, and wakes the job's followers: a retried batch stores nothing twice, and a job's line ids are handed
    /// out in order.
    func ingestLogs(host: HostRecord, records: [LogRecord], points: [MetricPointInput]) async throws -> LogBatchReceipt
    /// Stores system-metric samples of `host`; a sample sent again is stored once.
    func recordSamples(host: HostRecord, samples: [SystemSample]) async throws
    /// Up to `limit` lines after `afterID`, oldest first, optionally of one host and from a time on, cut where their
    /// messages pass `byteBudget` bytes (the first line always comes); `more` when lines were left out by either bound.
    func logPage(jobID: Int64, afterID: Int64, host: String?, since: Date?, limit: Int, byteBudget: Int) async throws -> (lines: [LogLineRecord], more: Bool)
    /// Where the last `count` lines of a job begin (optionally of one host and from a time on): the id of the line just
    /// before the first of them, as ``logPage(jobID:afterID:host:since:limit:byteBudget:)``'s `afterID`; 0 when there
    /// are no more than `count`.
    func logTailStart(jobID: Int64, host: String?, since: Date?, count: Int) async throws -> Int64
    /// Up to `limit` points of a job's series (definitions first, then system metrics, each by name and host, points
    /// oldest first) after `cursor`, the last point of the previous page; `next` is this page's last point when there
    /// are more. A series cut by the page continues, under the same name and host, on the next.
    func metricPage(jobID: Int64, after cursor: MetricCursor?, limit: Int) async throws -> (series: [MetricSeriesRecord], next: MetricCursor?)
    /// Every series of a job drawn `columns` wide (definitions first, then system metrics, each by name and host): a
    /// series of up to twice `columns` points whole; a longer one as each column's lowest and highest point (the
    /// column: its share of the series' time range), in time order, so that a spike shows at any length. Read in one
    /// pass over the points, whatever their number.
    func metricOverview(jobID: Int64, columns: Int) async throws -> [MetricOverview]
    /// The last value of each metric extracted with the job's definitions (SageMaker's `FinalMetricDataList`), by name.
    func finalMetrics(jobID: Int64) async throws -> [FinalMetricRecord]
    /// Each host of the job that has printed: its first and last line's times and how many bytes it printed, by host
    /// name (CloudWatch's log streams, one per host).
    func logStreams(jobID: Int64) async throws -> [LogStreamRecord]
    /// Up to `limit` lines of `host` before line `beforeID` (the newest of them), oldest first, optionally up to a time:
    /// a log read backwards from its end, as CloudWatch's `GetLogEvents` reads by default.
    func logPageBefore(jobID: Int64, beforeID: Int64, host: String, until: Date?, limit: Int) async throws -> [LogLineRecord]
    /// Up to `limit` lines of a job, oldest first, next to `edge` (the first after a line, or the last before one:
    /// `.before(.max)` is the log's end), optionally of one host and only those whose message contains `text` (ASCII
    /// letters in either case, every other character as it is, code point by code point), cut where their messages pass
    /// `byteBudget` bytes counted from the edge (the line at the edge always comes): a log viewer's page in either
    /// direction, searching the whole log.
    func logWindow(jobID: Int64, host: String?, containing text: String?, from edge: LogWindowEdge, limit: Int, byteBudget: Int) async throws
        -> [LogLineRecord]
}

/// Where a window of a job's log lies (``LogRepository/logWindow(jobID:host:containing:from:limit:byteBudget:)``).
public enum LogWindowEdge: Sendable, Equatable {
    /// The first lines after the line with this id.
    case after(Int64)
    /// The last lines before the line with this id.
    case before(Int64)
}

/// What one host of a job has printed, in sum.
public struct LogStreamRecord: Sendable, Equatable {
    public var host: String
    public var firstTime: Date
    public var lastTime: Date
    public var bytes: Int64

    public init(host: String, firstTime: Date, lastTime: Date, bytes: Int64) {
        self.host = host
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.bytes = bytes
    }
}

extension LogRepository {
    public func logPage(jobID: Int64, afterID: Int64, host: String?, since: Date?, limit: Int) async throws -> (lines: [LogLineRecord], more: Bool) {
        try await logPage(jobID: jobID, afterID: afterID, host: host, since: since, limit: limit, byteBudget: .max)
    }

    /// A job's lines after line `afterID`, oldest first, optionally of one host and from a time on.
    public func logLines(jobID: Int64, afterID: Int64, host: String?, since: Date?, limit: Int) async throws -> [LogLineRecord] {
        try await logPage(jobID: jobID, afterID: afterID, host: host, since: since, limit: limit).lines
    }

    /// Every metric series of a job, in ``metricPage(jobID:after:limit:)``'s order.
    public func metricSeries(jobID: Int64) async throws -> [MetricSeriesRecord] {
        try await metricPage(jobID: jobID, after: nil, limit: Int(Int32.max)).series
    }
}

/// A stored log line.
public struct LogLineRecord: Sendable, Equatable {
    public var id: Int64
    public var host: String
    public var time: Date
    public var message: String
}

/// A point of a metric series, before it is stored.
public struct MetricPointInput: Sendable, Equatable {
    public var name: String
    public var timeMicros: Int64
    public var value: Double

    public init(name: String, timeMicros: Int64, value: Double) {
        self.name = name
        self.timeMicros = timeMicros
        self.value = value
    }
}

/// Where a page of metric points ended: its last point's series and time.
public struct MetricCursor: Sendable, Equatable {
    public var kind: String
    public var name: String
    public var host: String
    /// Microseconds since 1970, as stored (a `Date` would round).
    public var timeMicros: Int64

    public init(kind: String, name: String, host: String, timeMicros: Int64) {
        self.kind = kind
        self.name = name
        self.host = host
        self.timeMicros = timeMicros
    }
}

/// One stored metric series.
public struct MetricSeriesRecord: Sendable, Equatable {
    public var name: String
    public var host: String
    public var kind: String
    public var points: [(time: Date, value: Double)]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.host == rhs.host && lhs.kind == rhs.kind && lhs.points.elementsEqual(rhs.points) { $0 == $1 }
    }
}

/// A metric series as a chart draws it (``LogRepository/metricOverview(jobID:columns:)``): the points kept, oldest
/// first, and how many the series has.
public struct MetricOverview: Sendable, Equatable {
    public var series: MetricSeriesRecord
    public var count: Int

    public init(series: MetricSeriesRecord, count: Int) {
        self.series = series
        self.count = count
    }

    /// The column of a chart `columns` wide that a point `offset` into a series `span` long falls in (both in
    /// microseconds): the store's rule, which its twin shares.
    public static func column(offset: Int64, span: Int64, columns: Int) -> Int {
        guard span > 0 else { return 0 }
        return min(columns - 1, Int((Double(offset) / Double(span) * Double(columns)).rounded(.down)))
    }
}

/// The last value of a metric.
public struct FinalMetricRecord: Sendable, Equatable {
    public var name: String
    public var value: Double
    public var time: Date
}
