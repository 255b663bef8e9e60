public import Foundation
import OpenAPIRuntime
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    static let maximumLogPage = 10_000

    func getJobLogs(_ input: Operations.GetJobLogs.Input) async throws -> Operations.GetJobLogs.Output {
        let principal = try RequestPrincipal.required()
        let query = input.query
        var violations: [FieldViolation] = []
        let limit = query.limit ?? Self.maximumLogPage
        if !(1...Self.maximumLogPage).contains(limit) {
            violations.append(FieldViolation(field: "limit", rule: "range", message: "limit must be between 1 and \(Self.maximumLogPage)"))
        }
        var afterID: Int64 = 0
        if let token = query.nextToken {
            if let id = Self.logLineID(fromToken: token) {
                afterID = id
            } else {
                violations.append(FieldViolation(field: "next_token", rule: "token", message: "next_token is not a token this API gave out"))
            }
        }
        if query.follow == true, let last = input.headers.lastEventID {
            if let id = Int64(last.trimmingCharacters(in: .whitespaces)), id >= 0 {
                afterID = max(afterID, id)
            } else {
                violations.append(FieldViolation(field: "Last-Event-ID", rule: "line_id", message: "Last-Event-ID must be the id of a log line (a number)"))
            }
        }
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the log query is invalid", errors: violations) }
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        if query.follow == true {
            let events = LogEventStream(
                store: store, followers: followers, jobID: job.id, jobName: job.name, host: query.host, since: query.since, afterID: afterID)
            return .ok(.init(body: .textEventStream(HTTPBody(events, length: .unknown, iterationBehavior: .single))))
        }
        let lines = try await store.logLines(jobID: job.id, afterID: afterID, host: query.host, since: query.since, limit: limit)
        let next = lines.count == limit ? lines.last.map { Self.logToken(after: $0.id) } : nil
        let page = Components.Schemas.LogPage(
            lines: lines.map { .init(id: $0.id, host: $0.host, time: $0.time, message: $0.message) }, nextToken: next)
        return .ok(.init(body: .json(page)))
    }

    func getJobMetrics(_ input: Operations.GetJobMetrics.Input) async throws -> Operations.GetJobMetrics.Output {
        let principal = try RequestPrincipal.required()
        let job = try await requireJob(projectID: principal.projectID, name: input.path.name)
        let series = try await store.metricSeries(jobID: job.id).map { series in
            Components.Schemas.MetricSeries(
                name: series.name, host: series.host, kind: series.kind == "system" ? .system : .definition,
                points: series.points.map { .init(time: $0.time, value: $0.value) })
        }
        return .ok(.init(body: .json(.init(metrics: series))))
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
