import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore: LogRepository {
    /// The key class of the per-job advisory lock that orders a job's log ids ('LOGS').
    static let logLockClass: Int32 = 0x4C4F_4753

    /// In one transaction, under the job's advisory lock: a job's line ids are committed in order.
    public func ingestLogs(host: HostRecord, records: [LogRecord], points: [MetricPointInput]) async throws -> LogBatchReceipt {
        try await client.transaction(logger: logger) { connection in
            // Named statements, planned once per connection: every host sends a batch every few seconds.
            for try await _ in try await connection.execute(LogJobLock(jobID: host.jobID), logger: logger) {}
            var stored: Int64 = 0
            for try await seq in try await connection.execute(HostLogSequence(hostID: host.id), logger: logger) {
                stored = seq
            }
            let fresh = records.filter { $0.seq > stored }.sorted { $0.seq < $1.seq }
            guard let last = fresh.last else { return LogBatchReceipt(stored: 0, lastSeq: stored) }
            try await connection.execute(
                InsertLogLines(
                    jobID: host.jobID, attemptID: host.attemptID, host: host.name, times: fresh.map(\.timeMicros), messages: fresh.map(\.message)),
                logger: logger)
            try await connection.execute(AdvanceLogSequence(hostID: host.id, seq: last.seq), logger: logger)
            let freshFrom = fresh.first.map(\.timeMicros) ?? 0
            try await insertPoints(
                on: connection, jobID: host.jobID, host: host.name, kind: "definition", points: points.filter { $0.timeMicros >= freshFrom })
            for try await _ in try await connection.execute(NotifyLogFollowers(jobID: host.jobID), logger: logger) {}
            return LogBatchReceipt(stored: fresh.count, lastSeq: last.seq)
        }
    }

    public func recordSamples(host: HostRecord, samples: [SystemSample]) async throws {
        guard !samples.isEmpty else { return }
        try await client.withConnection { connection in
            try await insertPoints(
                on: connection, jobID: host.jobID, host: host.name, kind: "system",
                points: samples.map { MetricPointInput(name: $0.name, timeMicros: $0.timeMicros, value: $0.value) })
        }
    }

    private func insertPoints(on connection: PostgresConnection, jobID: Int64, host: String, kind: String, points: [MetricPointInput]) async throws {
        guard !points.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO metric_points (job_id, name, host, kind, time, value)
            SELECT \(jobID), u.n, \(host), \(kind), timestamptz 'epoch' + u.t * interval '1 microsecond', u.v
            FROM unnest(\(points.map(\.name))::text[], \(points.map(\.timeMicros))::bigint[], \(points.map(\.value))::float8[]) AS u(n, t, v)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func logPage(
        jobID: Int64, afterID: Int64, host: String?, since: Date?, limit: Int, byteBudget: Int
    ) async throws -> (lines: [LogLineRecord], more: Bool) {
        let rows = try await client.query(
            """
            WITH page AS (
                SELECT id, host, time, message FROM log_lines
                WHERE job_id = \(jobID) AND id > \(afterID) AND (\(host)::text IS NULL OR host = \(host))
                    AND (\(since)::timestamptz IS NULL OR time >= \(since))
                ORDER BY id LIMIT \(limit)),
            sized AS (
                SELECT id, host, time, message, sum(octet_length(message)) OVER (ORDER BY id) - octet_length(message) AS bytes_before,
                    count(*) OVER () AS page_rows
                FROM page)
            SELECT id, host, time, message, page_rows FROM sized WHERE bytes_before < \(Int64(min(byteBudget, Int(Int64.max)))) ORDER BY id
            """, logger: logger)
        var lines: [LogLineRecord] = []
        var pageRows = 0
        for try await (id, host, time, message, rows) in rows.decode((Int64, String, Date, String, Int64).self) {
            lines.append(LogLineRecord(id: id, host: host, time: time, message: message))
            pageRows = Int(rows)
        }
        return (lines, pageRows == limit || pageRows > lines.count)
    }

    public func logTailStart(jobID: Int64, host: String?, since: Date?, count: Int) async throws -> Int64 {
        // Read backwards along the primary key (job_id, id): `count` rows at most, the last lines first.
        let rows = try await client.query(
            """
            SELECT id FROM log_lines
            WHERE job_id = \(jobID) AND (\(host)::text IS NULL OR host = \(host)) AND (\(since)::timestamptz IS NULL OR time >= \(since))
            ORDER BY id DESC OFFSET \(count) LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return 0
    }

    public func logStreams(jobID: Int64) async throws -> [LogStreamRecord] {
        let rows = try await client.query(
            """
            SELECT host, min(time), max(time), sum(octet_length(message))::bigint FROM log_lines
            WHERE job_id = \(jobID) GROUP BY host ORDER BY host
            """, logger: logger)
        var streams: [LogStreamRecord] = []
        for try await (host, first, last, bytes) in rows.decode((String, Date, Date, Int64).self) {
            streams.append(LogStreamRecord(host: host, firstTime: first, lastTime: last, bytes: bytes))
        }
        return streams
    }

    public func logPageBefore(jobID: Int64, beforeID: Int64, host: String, until: Date?, limit: Int) async throws -> [LogLineRecord] {
        let rows = try await client.query(
            """
            SELECT id, host, time, message FROM log_lines
            WHERE job_id = \(jobID) AND id < \(beforeID) AND host = \(host) AND (\(until)::timestamptz IS NULL OR time <= \(until))
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var lines: [LogLineRecord] = []
        for try await (id, host, time, message) in rows.decode((Int64, String, Date, String).self) {
            lines.append(LogLineRecord(id: id, host: host, time: time, message: message))
        }
        return lines.reversed()
    }

    public func logWindow(jobID: Int64, host: String?, containing text: String?, from edge: LogWindowEdge, limit: Int, byteBudget: Int) async throws
        -> [LogLineRecord]
    {
        // Read along the primary key (job_id, id) from the edge, in the edge's direction; the search is a filter on
        // the way (a job's log is read once, at most).
        let (id, comparison, order): (Int64, String, String) =
            switch edge {
            case .after(let id): (id, ">", "ASC")
            case .before(let id): (id, "<", "DESC")
            }
        let rows = try await client.query(
            """
            WITH page AS (
                SELECT id, host, time, message FROM log_lines
                WHERE job_id = \(jobID) AND id \(unescaped: comparison) \(id) AND (\(host)::text IS NULL OR host = \(host))
                    AND (\(text)::text IS NULL OR strpos(lower(message COLLATE "C"), lower(\(text) COLLATE "C")) > 0)
                ORDER BY id \(unescaped: order) LIMIT \(limit)),
            sized AS (
                SELECT id, host, time, message,
                    sum(octet_length(message)) OVER (ORDER BY id \(unescaped: order)) - octet_length(message) AS bytes_before
                FROM page)
            SELECT id, host, time, message FROM sized WHERE bytes_before < \(Int64(min(byteBudget, Int(Int64.max)))) ORDER BY id
            """, logger: logger)
        var lines: [LogLineRecord] = []
        for try await (id, host, time, message) in rows.decode((Int64, String, Date, String).self) {
            lines.append(LogLineRecord(id: id, host: host, time: time, message: message))
        }
        return lines
    }

    public func metricPage(jobID: Int64, after cursor: MetricCursor?, limit: Int) async throws -> (series: [MetricSeriesRecord], next: MetricCursor?) {
        let rows = try await client.query(
            """
            SELECT name, host, kind, time, value, (extract(epoch FROM time) * 1000000)::bigint FROM metric_points
            WHERE job_id = \(jobID)
                AND (\(cursor?.kind)::text IS NULL OR (kind, name, host, time)
                    > (\(cursor?.kind), \(cursor?.name), \(cursor?.host), timestamptz 'epoch' + \(cursor?.timeMicros) * interval '1 microsecond'))
            ORDER BY kind, name, host, time LIMIT \(Int64(limit) + 1)
            """, logger: logger)
        var series: [MetricSeriesRecord] = []
        var count = 0
        var last: MetricCursor?
        var more = false
        for try await (name, host, kind, time, value, micros) in rows.decode((String, String, String, Date, Double, Int64).self) {
            guard count < limit else {
                more = true
                break
            }
            count += 1
            last = MetricCursor(kind: kind, name: name, host: host, timeMicros: micros)
            if let previous = series.last, previous.name == name, previous.host == host, previous.kind == kind {
                series[series.count - 1].points.append((time, value))
            } else {
                series.append(MetricSeriesRecord(name: name, host: host, kind: kind, points: [(time, value)]))
            }
        }
        return (series, more ? last : nil)
    }

    public func metricOverview(jobID: Int64, columns: Int) async throws -> [MetricOverview] {
        // The column is computed in float8 from microseconds, as MetricOverview.column does, so that both agree. A long
        // series' columns are aggregated (their lowest and highest values, no sort of the points), then each column's
        // earliest point of each is found among the few points that hold one.
        let rows = try await client.query(
            """
            WITH s AS (
                SELECT kind, name, host, min(time) AS t0, max(time) AS t1, count(*) AS n FROM metric_points
                WHERE job_id = \(jobID) GROUP BY kind, name, host),
            p AS MATERIALIZED (
                SELECT m.kind, m.name, m.host, m.time, m.value, s.n,
                    CASE WHEN s.n <= 2 * \(columns) OR s.t1 = s.t0 THEN 0 ELSE least(\(columns) - 1, floor(
                        (extract(epoch FROM m.time - s.t0) * 1000000)::float8 / (extract(epoch FROM s.t1 - s.t0) * 1000000)::float8
                        * \(columns)::float8))::int END AS col
                FROM metric_points m JOIN s ON s.kind = m.kind AND s.name = m.name AND s.host = m.host
                WHERE m.job_id = \(jobID)),
            b AS (
                SELECT kind, name, host, col, min(value) AS lo, max(value) AS hi FROM p WHERE n > 2 * \(columns) GROUP BY kind, name, host, col),
            k AS (
                SELECT DISTINCT ON (p.kind, p.name, p.host, p.col, p.value = b.lo) p.kind, p.name, p.host, p.time, p.value, p.n
                FROM p JOIN b ON b.kind = p.kind AND b.name = p.name AND b.host = p.host AND b.col = p.col
                WHERE p.value = b.lo OR p.value = b.hi
                ORDER BY p.kind, p.name, p.host, p.col, p.value = b.lo, p.time)
            SELECT name, host, kind, time, value, n FROM (
                SELECT kind, name, host, time, value, n FROM p WHERE n <= 2 * \(columns)
                UNION ALL
                SELECT kind, name, host, time, value, n FROM k) kept
            ORDER BY kind, name, host, time
            """, logger: logger)
        var overviews: [MetricOverview] = []
        for try await (name, host, kind, time, value, count) in rows.decode((String, String, String, Date, Double, Int64).self) {
            if let last = overviews.last?.series, last.name == name, last.host == host, last.kind == kind {
                overviews[overviews.count - 1].series.points.append((time, value))
            } else {
                overviews.append(MetricOverview(series: MetricSeriesRecord(name: name, host: host, kind: kind, points: [(time, value)]), count: Int(count)))
            }
        }
        return overviews
    }

    public func finalMetrics(jobID: Int64) async throws -> [FinalMetricRecord] {
        let rows = try await client.query(
            """
            SELECT DISTINCT ON (name) name, value, time FROM metric_points
            WHERE job_id = \(jobID) AND kind = 'definition' ORDER BY name, time DESC
            """, logger: logger)
        var metrics: [FinalMetricRecord] = []
        for try await (name, value, time) in rows.decode((String, Double, Date).self) {
            metrics.append(FinalMetricRecord(name: name, value: value, time: time))
        }
        return metrics
    }

    /// Deletes the lines and metric points of up to `limit` jobs that ended before `cutoff`; answers how many jobs.
    public func deleteExpiredLogs(endedBefore cutoff: Date, limit: Int = 100, now: Date = Date()) async throws -> Int {
        try await client.transaction(logger: logger) { connection in
            var ids: [Int64] = []
            for try await id in try await connection.query(
                """
                SELECT id FROM jobs WHERE logs_deleted_at IS NULL AND status IN ('Completed', 'Failed', 'Stopped')
                    AND last_modified_at < \(cutoff) ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """, logger: logger
            ).decode(Int64.self) {
                ids.append(id)
            }
            guard !ids.isEmpty else { return 0 }
            try await connection.query("DELETE FROM log_lines WHERE job_id = ANY(\(ids))", logger: logger)
            try await connection.query("DELETE FROM metric_points WHERE job_id = ANY(\(ids))", logger: logger)
            try await connection.query("UPDATE jobs SET logs_deleted_at = \(now) WHERE id = ANY(\(ids))", logger: logger)
            return ids.count
        }
    }
}

/// The per-job advisory lock that orders a job's log ids (``PostgresStore/logLockClass``).
struct LogJobLock: PostgresPreparedStatement {
    static let sql = "SELECT true FROM pg_advisory_xact_lock($1, $2)"
    static let bindingDataTypes: [PostgresDataType] = [.int4, .int4]
    typealias Row = Bool
    var jobID: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(PostgresStore.logLockClass)
        bindings.append(Int32(truncatingIfNeeded: jobID))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { true }
}

/// The highest sequence number stored of a host's log records.
struct HostLogSequence: PostgresPreparedStatement {
    static let sql = "SELECT log_seq FROM hosts WHERE id = $1"
    typealias Row = Int64
    var hostID: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(hostID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64.self) }
}

/// A batch's new lines, in sequence order (so that their ids follow it).
struct InsertLogLines: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO log_lines (job_id, attempt, host, time, message)
        SELECT $1, a.number, $2, timestamptz 'epoch' + u.t * interval '1 microsecond', u.m
        FROM attempts a, unnest($3::bigint[], $4::text[]) WITH ORDINALITY AS u(t, m, o)
        WHERE a.id = $5
        ORDER BY u.o
        """
    static let bindingDataTypes: [PostgresDataType] = [.int8, .text, .int8Array, .textArray, .int8]
    typealias Row = ()
    var jobID: Int64
    var attemptID: Int64
    var host: String
    var times: [Int64]
    var messages: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(jobID)
        bindings.append(host)
        bindings.append(times)
        bindings.append(messages)
        bindings.append(attemptID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// A host's stored sequence, advanced past a batch.
struct AdvanceLogSequence: PostgresPreparedStatement {
    static let sql = "UPDATE hosts SET log_seq = $1 WHERE id = $2"
    static let bindingDataTypes: [PostgresDataType] = [.int8, .text]
    typealias Row = ()
    var hostID: String
    var seq: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(seq)
        bindings.append(hostID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// Wakes the job's log followers on every replica.
struct NotifyLogFollowers: PostgresPreparedStatement {
    static let sql = "SELECT true FROM pg_notify('trainyard_logs', $1)"
    typealias Row = Bool
    var jobID: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(String(jobID))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { true }
}
