public import Foundation
import OpenAPIRuntime
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    static let maximumLogPage = 10_000
    /// Message bytes in one page of lines: a page ends at whichever of `limit` and this comes first (10,000 lines of
    /// 16 KiB would be 160 MiB, several times that as JSON).
    static let logPageBytes = 4 << 20
    /// Points in one page of metrics.
    static let maximumMetricPage = 10_000

    func getJobLogs(_ input: Operations.GetJobLogs.Input) async throws -> Operations.GetJobLogs.Output {
        let principal = try RequestPrincipal.required()
        let query = input.query
        var violations: [FieldViolation] = []
        let limit = query.limit ?? Self.maximumLogPage
        if !(1...Self.maximumLogPage).contains(limit) {
            violations.append(FieldViolation(field: "limit", rule: "range", message: "limit must be between 1 and \(Self.maximumLogPage)"))
        }
        if let tail = query.tail, !(1...Self.maximumLogPage).contains(tail) {
            violations.append(FieldViolation(field: "tail", rule: "range", message: "tail must be between 1 and \(Self.maximumLogPage)"))
        }
        var afterID: Int64 = 0
        if let token = query.nextToken {
            if let id = Self.logLineID(fromToken: token) {
                afterID = id
            } else {
                violations.append(FieldViolation(field: "next_token", rule: "token", message: "next_token is not a token this API gave out"))
            }
        }
        if query.follow == true, let last = RawRequestHeaders.value(.lastEventID, decoded: input.headers.lastEventID) {
            if let id = Int64(last.trimmingCharacters(in: .whitespaces)), id >= 0 {
                afterID = max(afterID, id)
            } else {
                violations.append(FieldViolation(field: "Last-Event-ID", rule: "line_id", message: "Last-Event-ID must be the id of a log line (a number)"))
            }
        }
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the log query is invalid", errors: violations) }
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        // The tail says where the first page or the stream starts. The next page (its URL again, with the token) and a
        // stream reconnecting (an EventSource sends its URL again, with Last-Event-ID) go on after the last line seen.
        let continues = query.nextToken != nil || (query.follow == true && input.headers.lastEventID != nil)
        var pageLimit = limit
        if let tail = query.tail, !continues {
            afterID = try await logs.logTailStart(jobID: job.id, host: query.host, since: query.since, count: tail)
            pageLimit = min(limit, tail)
        }
        if query.follow == true {
            guard let slot = followerSlots.acquire(key: principal.keyID, limit: limits.logFollowersPerKey) else {
                throw APIError.tooManyRequests(
                    detail: "this API key already holds \(limits.logFollowersPerKey) log streams (follow=true) open on this server, its limit "
                        + "(TRAINYARD_MAX_LOG_FOLLOWERS); close one, or read pages without follow",
                    retryAfterSeconds: RequestLimits.heldRetryAfterSeconds)
            }
            let events = LogEventStream(
                jobs: jobs, logs: logs, followers: followers, jobID: job.id, jobName: job.name, host: query.host, since: query.since, afterID: afterID,
                slot: slot)
            return .ok(.init(body: .textEventStream(HTTPBody(events, length: .unknown, iterationBehavior: .single))))
        }
        let (lines, more) = try await logs.logPage(
            jobID: job.id, afterID: afterID, host: query.host, since: query.since, limit: pageLimit, byteBudget: Self.logPageBytes)
        let next = more ? lines.last.map { Self.logToken(after: $0.id) } : nil
        let page = Components.Schemas.LogPage(
            lines: lines.map { .init(id: $0.id, host: $0.host, time: $0.time, message: $0.message) }, nextToken: next)
        return .ok(.init(body: .json(page)))
    }

    func getJobMetrics(_ input: Operations.GetJobMetrics.Input) async throws -> Operations.GetJobMetrics.Output {
        let principal = try RequestPrincipal.required()
        var violations: [FieldViolation] = []
        let limit = input.query.maxResults ?? Self.maximumMetricPage
        if !(1...Self.maximumMetricPage).contains(limit) {
            violations.append(FieldViolation(field: "max_results", rule: "range", message: "max_results must be between 1 and \(Self.maximumMetricPage)"))
        }
        var cursor: MetricCursor?
        if let token = input.query.nextToken {
            cursor = Self.metricCursor(fromToken: token)
            if cursor == nil {
                violations.append(FieldViolation(field: "next_token", rule: "token", message: "next_token is not a token this API gave out"))
            }
        }
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the metrics query is invalid", errors: violations) }
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        let (page, next) = try await logs.metricPage(jobID: job.id, after: cursor, limit: limit)
        let series = page.map { series in
            Components.Schemas.MetricSeries(
                name: series.name, host: series.host, kind: series.kind == "system" ? .system : .definition,
                points: series.points.map { .init(time: $0.time, value: $0.value) })
        }
        return .ok(.init(body: .json(.init(metrics: series, nextToken: next.map(Self.metricToken)))))
    }

    /// `m1.<kind>.<host>.<micros>.<name>` as a ``PageToken`` (the name last: it may hold dots). Only the job's own
    /// values: the token names nothing of any other job.
    static func metricToken(after cursor: MetricCursor) -> String {
        PageToken.encode("m1.\(cursor.kind).\(cursor.host).\(cursor.timeMicros).\(cursor.name)")
    }

    static func metricCursor(fromToken token: String) -> MetricCursor? {
        guard let text = PageToken.decode(token) else { return nil }
        let parts = text.split(separator: ".", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "m1", parts[1] == "definition" || parts[1] == "system", let micros = Int64(parts[3]),
            !parts[4].isEmpty, !text.contains("\0")
        else { return nil }
        return MetricCursor(kind: String(parts[1]), name: String(parts[4]), host: String(parts[2]), timeMicros: micros)
    }

    /// `l1.<line id>` as a ``PageToken``.
    static func logToken(after id: Int64) -> String {
        PageToken.encode("l1.\(id)")
    }

    static func logLineID(fromToken token: String) -> Int64? {
        guard let text = PageToken.decode(token), text.hasPrefix("l1."), let id = Int64(text.dropFirst(3)), id >= 0 else { return nil }
        return id
    }
}
