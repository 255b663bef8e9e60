import Foundation
import TrainyardCore

/// ``LogRepository`` in memory: the twin of ``PostgresStore``'s log lines and metric points, for tests without a
/// database. Text orders as PostgreSQL's C collation orders it (by code point), times are kept in microseconds as
/// stored.
public actor InMemoryLogRepository: LogRepository {
    private struct Line {
        var record: LogLineRecord
        var jobID: Int64
    }

    private struct PointKey: Hashable {
        var jobID: Int64
        var name: String
        var host: String
        var timeMicros: Int64
    }

    private struct Point {
        var kind: String
        var value: Double
    }

    private var lines: [Line] = []
    private var lastSeqByHost: [String: Int64] = [:]
    private var points: [PointKey: Point] = [:]
    private var lastLineID: Int64 = 0

    public init() {}

    public func ingestLogs(host: HostRecord, records: [LogRecord], points: [MetricPointInput]) -> LogBatchReceipt {
        let stored = lastSeqByHost[host.id] ?? 0
        let fresh = records.filter { $0.seq > stored }.sorted { $0.seq < $1.seq }
        guard let last = fresh.last else { return LogBatchReceipt(stored: 0, lastSeq: stored) }
        for record in fresh {
            lastLineID += 1
            let line = LogLineRecord(id: lastLineID, host: host.name, time: Self.date(micros: record.timeMicros), message: record.message)
            lines.append(Line(record: line, jobID: host.jobID))
        }
        lastSeqByHost[host.id] = last.seq
        let freshFrom = fresh[0].timeMicros
        insert(points.filter { $0.timeMicros >= freshFrom }, jobID: host.jobID, host: host.name, kind: "definition")
        return LogBatchReceipt(stored: fresh.count, lastSeq: last.seq)
    }

    public func recordSamples(host: HostRecord, samples: [SystemSample]) {
        insert(samples.map { MetricPointInput(name: $0.name, timeMicros: $0.timeMicros, value: $0.value) }, jobID: host.jobID, host: host.name, kind: "system")
    }

    private func insert(_ inputs: [MetricPointInput], jobID: Int64, host: String, kind: String) {
        for input in inputs {
            let key = PointKey(jobID: jobID, name: input.name, host: host, timeMicros: input.timeMicros)
            if points[key] == nil { points[key] = Point(kind: kind, value: input.value) }  // a point sent again is stored once
        }
    }

    public func logPage(jobID: Int64, afterID: Int64, host: String?, since: Date?, limit: Int, byteBudget: Int) -> (lines: [LogLineRecord], more: Bool) {
        let page = lines.lazy.filter { line in
            line.jobID == jobID && line.record.id > afterID && (host == nil || line.record.host == host)
                && (since.map { line.record.time >= $0 } ?? true)
        }.prefix(limit).map(\.record)
        let kept = Self.within(byteBudget, page)
        return (kept, page.count == limit || page.count > kept.count)
    }

    public func logTailStart(jobID: Int64, host: String?, since: Date?, count: Int) -> Int64 {
        let matching = lines.filter { line in
            line.jobID == jobID && (host == nil || line.record.host == host) && (since.map { line.record.time >= $0 } ?? true)
        }
        return matching.count > count ? matching[matching.count - count - 1].record.id : 0
    }

    /// A message's UTF-8 bytes with ASCII letters in lower case: PostgreSQL's `lower()` under the C collation, matched
    /// by bytes as `strpos` matches code points.
    private static func asciiFolded(_ text: String) -> [UInt8] {
        text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    /// The first of `lines` whose messages before each stay under `byteBudget` bytes (the first line always), as the
    /// store's pages are cut.
    private static func within(_ byteBudget: Int, _ lines: some Sequence<LogLineRecord>) -> [LogLineRecord] {
        var kept: [LogLineRecord] = []
        var bytes = 0
        for line in lines {
            guard bytes < byteBudget else { break }
            kept.append(line)
            bytes += line.message.utf8.count
        }
        return kept
    }

    public func logStreams(jobID: Int64) -> [LogStreamRecord] {
        var streams: [String: LogStreamRecord] = [:]
        for line in lines where line.jobID == jobID {
            let record = line.record
            var stream = streams[record.host] ?? LogStreamRecord(host: record.host, firstTime: record.time, lastTime: record.time, bytes: 0)
            stream.firstTime = min(stream.firstTime, record.time)
            stream.lastTime = max(stream.lastTime, record.time)
            stream.bytes += Int64(record.message.utf8.count)
            streams[record.host] = stream
        }
        return streams.values.sorted { $0.host < $1.host }
    }

    public func logPageBefore(jobID: Int64, beforeID: Int64, host: String, until: Date?, limit: Int) -> [LogLineRecord] {
        let matching = lines.filter { line in
            line.jobID == jobID && line.record.id < beforeID && line.record.host == host && (until.map { line.record.time <= $0 } ?? true)
        }
        return Array(matching.suffix(limit).map(\.record))
    }

    public func logWindow(jobID: Int64, host: String?, containing text: String?, from edge: LogWindowEdge, limit: Int, byteBudget: Int)
        -> [LogLineRecord]
    {
        let needle = text.map(Self.asciiFolded)
        let matching = lines.filter { line in
            line.jobID == jobID && (host == nil || line.record.host == host)
                && (needle.map { Self.asciiFolded(line.record.message).firstRange(of: $0) != nil } ?? true)
        }.map(\.record)
        // From the edge outwards, then oldest first.
        let outwards: [LogLineRecord] =
            switch edge {
            case .after(let id): Array(matching.filter { $0.id > id }.prefix(limit))
            case .before(let id): Array(matching.filter { $0.id < id }.suffix(limit).reversed())
            }
        return Self.within(byteBudget, outwards).sorted { $0.id < $1.id }
    }

    public func metricPage(jobID: Int64, after cursor: MetricCursor?, limit: Int) -> (series: [MetricSeriesRecord], next: MetricCursor?) {
        let ordered = points.filter { $0.key.jobID == jobID }
            .map { MetricCursor(kind: $0.value.kind, name: $0.key.name, host: $0.key.host, timeMicros: $0.key.timeMicros) }
            .filter { point in cursor.map { Self.precedes($0, point) } ?? true }
            .sorted(by: Self.precedes)
        var series: [MetricSeriesRecord] = []
        for point in ordered.prefix(limit) {
            let value = points[PointKey(jobID: jobID, name: point.name, host: point.host, timeMicros: point.timeMicros)]?.value ?? 0
            let time = Self.date(micros: point.timeMicros)
            if let previous = series.last, previous.name == point.name, previous.host == point.host, previous.kind == point.kind {
                series[series.count - 1].points.append((time, value))
            } else {
                series.append(MetricSeriesRecord(name: point.name, host: point.host, kind: point.kind, points: [(time, value)]))
            }
        }
        return (series, ordered.count > limit ? ordered[limit - 1] : nil)
    }

    public func metricOverview(jobID: Int64, columns: Int) -> [MetricOverview] {
        struct Series: Hashable {
            var kind: String
            var name: String
            var host: String
            var cursor: MetricCursor { MetricCursor(kind: kind, name: name, host: host, timeMicros: 0) }
        }
        var bySeries: [Series: [(micros: Int64, value: Double)]] = [:]
        for (key, point) in points where key.jobID == jobID {
            bySeries[Series(kind: point.kind, name: key.name, host: key.host), default: []].append((key.timeMicros, point.value))
        }
        return bySeries.keys.sorted { Self.precedes($0.cursor, $1.cursor) }.map { series in
            let all = bySeries[series, default: []].sorted { $0.micros < $1.micros }
            var kept = all
            if all.count > 2 * columns, let first = all.first, let last = all.last {
                // Each column's lowest and highest point, the earliest of equals, as the store's ordering picks them.
                var chosen: [Int: (low: Int, high: Int)] = [:]
                for (index, point) in all.enumerated() {
                    let column = MetricOverview.column(offset: point.micros - first.micros, span: last.micros - first.micros, columns: columns)
                    guard let seen = chosen[column] else {
                        chosen[column] = (index, index)
                        continue
                    }
                    chosen[column] = (point.value < all[seen.low].value ? index : seen.low, point.value > all[seen.high].value ? index : seen.high)
                }
                kept = Set(chosen.values.flatMap { [$0.low, $0.high] }).sorted().map { all[$0] }
            }
            return MetricOverview(
                series: MetricSeriesRecord(name: series.name, host: series.host, kind: series.kind, points: kept.map { (Self.date(micros: $0.micros), $0.value) }),
                count: all.count)
        }
    }

    public func finalMetrics(jobID: Int64) -> [FinalMetricRecord] {
        var latest: [String: (timeMicros: Int64, value: Double)] = [:]
        for (key, point) in points where key.jobID == jobID && point.kind == "definition" {
            if let seen = latest[key.name], seen.timeMicros >= key.timeMicros { continue }
            latest[key.name] = (key.timeMicros, point.value)
        }
        return latest.sorted { Self.collates($0.key, before: $1.key) }
            .map { FinalMetricRecord(name: $0.key, value: $0.value.value, time: Self.date(micros: $0.value.timeMicros)) }
    }

    /// The order of `(kind, name, host, time)` as PostgreSQL compares the row.
    private static func precedes(_ a: MetricCursor, _ b: MetricCursor) -> Bool {
        if a.kind != b.kind { return collates(a.kind, before: b.kind) }
        if a.name != b.name { return collates(a.name, before: b.name) }
        if a.host != b.host { return collates(a.host, before: b.host) }
        return a.timeMicros < b.timeMicros
    }

    /// The C collation: code point order, which UTF-8's byte order keeps.
    static func collates(_ a: String, before b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func date(micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}
