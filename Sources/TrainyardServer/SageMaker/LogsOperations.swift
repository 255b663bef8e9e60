import Foundation
import TrainyardCore
import TrainyardSageMaker
import TrainyardStore

/// The CloudWatch Logs subset the SDKs' `logs=True` and `aws logs` use, over the jobs' log lines: the group
/// `/aws/sagemaker/TrainingJobs`, one stream per host that has printed.
struct LogsOperations: Sendable {
    let api: APIImplementation

    /// Lines per page when the caller gives no limit (CloudWatch's own default and maximum).
    static let defaultEvents = 10_000

    func perform(_ operation: String, target: String, _ call: SageMakerCall) async throws -> JSONValue {
        guard ServiceModel.logs.operations[operation] != nil else { throw AWSError.unknownOperation(target) }
        let report = SageMakerEndpoint.logsValidator.validate(call.input, operation: operation)
        if let first = report.serializationErrors.first { throw AWSError.serialization(first) }
        guard report.violations.isEmpty else { throw Self.invalid(ModelValidator.message(for: report.violations)) }
        if let group = call.input["logGroupName"]?.stringValue, group != LogStreamName.group {
            throw Self.notFound("The specified log group does not exist.")
        }
        switch operation {
        case "DescribeLogStreams": return try await describeStreams(call)
        case "GetLogEvents": return try await getEvents(call)
        case "FilterLogEvents": return try await filterEvents(call)
        default: throw AWSError.unknownOperation(target)
        }
    }

    static func invalid(_ message: String) -> AWSError { AWSError(type: "InvalidParameterException", message: message) }
    static func notFound(_ message: String) -> AWSError { AWSError(type: "ResourceNotFoundException", message: message) }

    /// The training job a stream prefix or name begins with (`<job>/…`), the caller's project's.
    private func job(named name: String, _ call: SageMakerCall) async throws -> JobRecord? {
        try await api.jobs.job(projectID: call.principal.projectID, name: name)
    }

    private func jobName(ofPrefix prefix: String?) throws -> String {
        guard let prefix, !prefix.isEmpty else {
            throw Self.invalid("Trainyard's log streams are listed per training job: give logStreamNamePrefix '<training job name>/'")
        }
        return prefix.firstIndex(of: "/").map { String(prefix[..<$0]) } ?? prefix
    }

    private func describeStreams(_ call: SageMakerCall) async throws -> JSONValue {
        let input = call.input
        let prefix = input["logStreamNamePrefix"]?.stringValue
        if input["orderBy"]?.stringValue == "LastEventTime", prefix != nil {
            throw Self.invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        }
        guard let prefix, !prefix.isEmpty else { return try await describeEveryStream(call) }
        let name = try jobName(ofPrefix: prefix)
        var streams: [JSONValue] = []
        if let job = try await job(named: name, call) {
            var records = try await streamRecords(of: job).filter { $0.name.hasPrefix(prefix) }
            if input["descending"]?.boolValue == true { records.reverse() }
            streams = records.map { stream(name: $0.name, record: $0.record, call) }
        }
        // A job has at most as many streams as hosts, never more than a page: no nextToken (the v2 SDK loops while one
        // comes back).
        let limit = input["limit"]?.intValue ?? 50
        return .object(["logStreams": .array(Array(streams.prefix(limit)))])
    }

    /// The streams of every job of the project (`aws logs describe-log-streams` with only the group), a page of whole
    /// jobs at a time: by name (job names lead stream names), or, with `orderBy` `LastEventTime`, by job, newest
    /// first unless `descending` is false, and by last event within the page.
    private func describeEveryStream(_ call: SageMakerCall) async throws -> JSONValue {
        let input = call.input
        let limit = input["limit"]?.intValue ?? 50
        let descending = input["descending"]?.boolValue ?? false
        let byTime = input["orderBy"]?.stringValue == "LastEventTime"
        var query = JobListQuery(sortBy: byTime ? .creationTime : .name, ascending: byTime ? false : !descending, limit: limit)
        if let token = input["nextToken"]?.stringValue {
            do {
                query.after = try JobListRequest.lastID(from: token, query: query)
            } catch {
                throw Self.invalid("The specified nextToken is invalid.")
            }
        }
        var streams: [(name: String, record: LogStreamRecord)] = []
        var lastJob: Int64?
        var more = false
        while !more {
            let page: JobPage
            do {
                page = try await api.jobs.listJobs(projectID: call.principal.projectID, query: query)
            } catch StoreError.unknownCursor {
                throw Self.invalid("The specified nextToken is invalid.")
            }
            for job in page.jobs {
                var records = try await streamRecords(of: job)
                if descending { records.reverse() }
                // Whole jobs only, so that the token continues after one; the first job always fits.
                if !streams.isEmpty, streams.count + records.count > limit {
                    more = true
                    break
                }
                streams += records
                lastJob = job.id
            }
            guard let last = page.lastID, !more else { break }
            query.after = last
        }
        if byTime { streams.sort { descending ? $0.record.lastTime > $1.record.lastTime : $0.record.lastTime < $1.record.lastTime } }
        var body: [String: JSONValue] = ["logStreams": .array(streams.map { stream(name: $0.name, record: $0.record, call) })]
        if more, let lastJob { body["nextToken"] = .string(JobListRequest.token(after: lastJob, query: query)) }
        return .object(body)
    }

    /// A job's streams, by name.
    private func streamRecords(of job: JobRecord) async throws -> [(name: String, record: LogStreamRecord)] {
        try await api.logs.logStreams(jobID: job.id)
            .map { (LogStreamName.name(job: job.name, host: $0.host, createdAt: job.createdAt), $0) }
            .sorted { $0.name < $1.name }
    }

    private func stream(name: String, record: LogStreamRecord, _ call: SageMakerCall) -> JSONValue {
        .object([
            "logStreamName": .string(name), "creationTime": Self.milliseconds(record.firstTime),
            "firstEventTimestamp": Self.milliseconds(record.firstTime), "lastEventTimestamp": Self.milliseconds(record.lastTime),
            "lastIngestionTime": Self.milliseconds(record.lastTime), "storedBytes": .number(Double(record.bytes)),
            "arn": .string(LogStreamName.arn(region: call.region, account: SageMakerAccount.id(ofProject: call.principal.projectID), stream: name)),
        ])
    }

    private func getEvents(_ call: SageMakerCall) async throws -> JSONValue {
        let input = call.input
        let streamName = input["logStreamName"]?.stringValue ?? ""
        guard let (name, host) = LogStreamName.parse(streamName), let job = try await job(named: name, call),
            LogStreamName.name(job: job.name, host: host, createdAt: job.createdAt) == streamName
        else { throw Self.notFound("The specified log stream does not exist.") }
        let limit = input["limit"]?.intValue ?? Self.defaultEvents
        let since = input["startTime"].flatMap(Self.date(milliseconds:))
        let until = input["endTime"].flatMap(Self.date(milliseconds:))
        let token = try input["nextToken"]?.stringValue.map(Self.parseToken)
        var lines: [LogLineRecord]
        let forward: Bool
        switch token {
        case .forward(let after)?:
            forward = true
            lines = try await api.logs.logPage(jobID: job.id, afterID: after, host: host, since: since, limit: limit).lines
        case .backward(let before)?:
            forward = false
            lines = try await api.logs.logPageBefore(jobID: job.id, beforeID: before, host: host, until: until, limit: limit)
        case nil:
            forward = input["startFromHead"]?.boolValue ?? false
            lines =
                forward
                ? try await api.logs.logPage(jobID: job.id, afterID: 0, host: host, since: since, limit: limit).lines
                : try await api.logs.logPageBefore(jobID: job.id, beforeID: .max, host: host, until: until, limit: limit)
        }
        if let until { lines = lines.filter { $0.time <= until } }
        if let since { lines = lines.filter { $0.time >= since } }
        // Caught up, the same token again: both SDKs read until a page comes back empty.
        let afterID: Int64 =
            switch token {
            case .forward(let after)?: lines.last?.id ?? after
            case .backward(let before)?: lines.last?.id ?? max(0, before - 1)
            case nil: lines.last?.id ?? 0
            }
        let beforeID: Int64 =
            switch token {
            case .backward(let before)?: lines.first?.id ?? before
            case .forward(let after)?: lines.first?.id ?? after + 1
            case nil: lines.first?.id ?? (forward ? 1 : Int64.max)
            }
        return .object([
            "events": .array(lines.map { line in .object(["timestamp": Self.milliseconds(line.time), "message": .string(Self.message(line)), "ingestionTime": Self.milliseconds(line.time)]) }),
            "nextForwardToken": .string("f/\(String(afterID, radix: 10))"), "nextBackwardToken": .string("b/\(String(beforeID, radix: 10))"),
        ])
    }

    private func filterEvents(_ call: SageMakerCall) async throws -> JSONValue {
        let input = call.input
        let names = input["logStreamNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let prefix = input["logStreamNamePrefix"]?.stringValue
        if !names.isEmpty, prefix != nil { throw Self.invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.") }
        let jobName = try names.first.flatMap { LogStreamName.parse($0)?.job } ?? jobName(ofPrefix: prefix)
        guard names.allSatisfy({ LogStreamName.parse($0)?.job == jobName }) else {
            throw Self.invalid("Trainyard filters one training job's streams at a time: every name in logStreamNames must begin '\(jobName)/'")
        }
        let pattern = try input["filterPattern"]?.stringValue.map { text in
            guard let pattern = LogFilterPattern(text) else {
                throw Self.invalid("filterPattern: JSON and space-delimited patterns are not supported; give terms, \"phrases\", ?alternatives or -exclusions")
            }
            return pattern
        }
        guard let job = try await job(named: jobName, call) else { return .object(["events": .array([]), "searchedLogStreams": .array([])]) }
        // The searched streams by host, so that a line's stream is a lookup.
        var wanted: [String: String] = [:]
        for stream in try await streamRecords(of: job) where names.isEmpty ? stream.name.hasPrefix(prefix ?? "") : names.contains(stream.name) {
            wanted[stream.record.host] = stream.name
        }
        let limit = input["limit"]?.intValue ?? Self.defaultEvents
        let since = input["startTime"].flatMap(Self.date(milliseconds:))
        let until = input["endTime"].flatMap(Self.date(milliseconds:))
        var after: Int64 = 0
        if let token = input["nextToken"]?.stringValue {
            guard case .forward(let id) = try Self.parseToken(token) else { throw Self.invalid("The given nextToken is invalid.") }
            after = id
        }
        // Read pages of the job's lines (every host, in order) until `limit` matches or the log ends; a page's last line
        // is where the next call continues, matched or not.
        var events: [JSONValue] = []
        var more = true
        var scanned = after
        while events.count < limit, more {
            let page = try await api.logs.logPage(jobID: job.id, afterID: scanned, host: nil, since: since, limit: 1000)
            more = page.more
            for line in page.lines {
                scanned = line.id
                if let until, line.time > until {
                    more = false
                    break
                }
                guard let stream = wanted[line.host], pattern?.matches(line.message) ?? true else { continue }
                events.append(
                    .object([
                        "logStreamName": .string(stream), "timestamp": Self.milliseconds(line.time), "message": .string(Self.message(line)),
                        "ingestionTime": Self.milliseconds(line.time), "eventId": .string(String(line.id)),
                    ]))
                if events.count == limit {
                    more = more || line.id != page.lines.last?.id
                    break
                }
            }
            if page.lines.isEmpty { more = false }
        }
        var body: [String: JSONValue] = [
            "events": .array(events),
            "searchedLogStreams": .array(wanted.values.sorted().map { .object(["logStreamName": .string($0), "searchedCompletely": .bool(!more)]) }),
        ]
        if more { body["nextToken"] = .string("f/\(scanned)") }
        return .object(body)
    }

    enum Token {
        case forward(Int64)
        case backward(Int64)
    }

    static func parseToken(_ token: String) throws -> Token {
        let parts = token.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let id = Int64(parts[1]), id >= 0 else { throw invalid("The specified nextToken is invalid.") }
        switch parts[0] {
        case "f": return .forward(id)
        case "b": return .backward(id)
        default: throw invalid("The specified nextToken is invalid.")
        }
    }

    static func milliseconds(_ date: Date) -> JSONValue { .number(Double(SageMakerTime.milliseconds(date))) }

    /// A request's time in epoch milliseconds (`startTime`, `endTime`).
    static func date(milliseconds value: JSONValue) -> Date? { value.numberValue.map { Date(timeIntervalSince1970: $0 / 1000) } }

    /// CloudWatch's events have at least one character; an empty line is one space.
    static func message(_ line: LogLineRecord) -> String { line.message.isEmpty ? " " : line.message }
}
