public import Foundation

/// The job events a subscription can ask for.
public enum WebhookEventType: String, Sendable, CaseIterable, Codable {
    case jobCreated = "job.created"
    /// Every secondary status transition.
    case jobStatusChanged = "job.status_changed"
    case jobCompleted = "job.completed"
    case jobFailed = "job.failed"
    case jobStopped = "job.stopped"
    /// Another subscription of the project was disabled after sustained failure.
    case webhookDisabled = "webhook.disabled"

    /// `*` in a subscription's events: every type.
    public static let wildcard = "*"

    /// The events one status transition announces: always `job.status_changed`, and the ending's own type when the
    /// job ended.
    public static func announcing(status: JobStatus, created: Bool = false) -> [WebhookEventType] {
        if created { return [.jobCreated] }
        switch status {
        case .completed: return [.jobStatusChanged, .jobCompleted]
        case .failed: return [.jobStatusChanged, .jobFailed]
        case .stopped: return [.jobStatusChanged, .jobStopped]
        case .inProgress, .stopping: return [.jobStatusChanged]
        }
    }
}

/// A delivery's body: `{type, timestamp, data}`, `data` holding the job's name, status, secondary status, message and
/// the transition's time. Its bytes are written once, into the outbox, and sent as they are on every try, so the
/// signature and any receiver-side deduplication see the same message.
public struct WebhookPayload: Sendable, Equatable {
    public var type: WebhookEventType
    public var jobName: String
    public var status: JobStatus
    public var secondaryStatus: SecondaryStatus
    public var message: String
    public var failureReason: String?
    public var time: Date

    public init(
        type: WebhookEventType, jobName: String, status: JobStatus, secondaryStatus: SecondaryStatus, message: String, failureReason: String? = nil,
        time: Date
    ) {
        self.type = type
        self.jobName = jobName
        self.status = status
        self.secondaryStatus = secondaryStatus
        self.message = message
        self.failureReason = failureReason
        self.time = time
    }

    private struct Body: Encodable {
        var type: String
        var timestamp: String
        var data: DataPart
    }

    private struct DataPart: Encodable {
        var job_name: String
        var status: String
        var secondary_status: String
        var message: String
        var failure_reason: String?
        var time: String
    }

    /// The JSON body (keys sorted, dates ISO 8601 with milliseconds).
    public func json() -> String {
        let time = webhookTime(self.time)
        return webhookJSON(
            Body(
                type: type.rawValue, timestamp: time,
                data: DataPart(
                    job_name: jobName, status: status.rawValue, secondary_status: secondaryStatus.rawValue, message: message,
                    failure_reason: failureReason, time: time)))
    }
}

/// The body of a `webhook.disabled` event: which subscription, why, and the job whose event it last failed to deliver.
public struct WebhookDisabledPayload: Sendable, Equatable {
    public var webhookID: String
    public var url: String
    public var reason: String
    public var jobName: String
    public var time: Date

    public init(webhookID: String, url: String, reason: String, jobName: String, time: Date) {
        self.webhookID = webhookID
        self.url = url
        self.reason = reason
        self.jobName = jobName
        self.time = time
    }

    private struct Body: Encodable {
        var type = WebhookEventType.webhookDisabled.rawValue
        var timestamp: String
        var data: DataPart
    }

    private struct DataPart: Encodable {
        var webhook_id: String
        var url: String
        var reason: String
        var job_name: String
        var time: String
    }

    public func json() -> String {
        let time = webhookTime(self.time)
        return webhookJSON(Body(timestamp: time, data: DataPart(webhook_id: webhookID, url: url, reason: reason, job_name: jobName, time: time)))
    }
}

/// A webhook body's bytes: keys sorted, so the same event always has the same body.
func webhookJSON(_ body: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(body)) ?? Data("{}".utf8), as: UTF8.self)
}

/// Times in webhook bodies: ISO 8601 with milliseconds, as the API writes them.
func webhookTime(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}

/// When a failed delivery is tried again: after each failed try `n` (1-based), `delays[n-1]` seconds, ±20 % jitter;
/// once the list is used up the delivery has failed for good. The default is Standard Webhooks' recommendation (5 s,
/// 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight tries over about a day).
public struct WebhookRetrySchedule: Sendable, Equatable {
    public static let standard = WebhookRetrySchedule(delays: [5, 300, 1800, 7200, 18000, 36000, 36000])

    public var delays: [Double]

    public init(delays: [Double]) {
        self.delays = delays
    }

    /// Parses `TRAINYARD_WEBHOOK_RETRY_SCHEDULE`: comma-separated positive seconds.
    public init?(text: String) {
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        delays = values.compactMap { $0 }
    }

    /// The delay before the next try after `failedTries` failed tries, or nil when no try is left.
    public func delay(afterFailedTries failedTries: Int, jitter: Double = Double.random(in: -0.2...0.2)) -> Double? {
        guard failedTries >= 1, failedTries <= delays.count else { return nil }
        return delays[failedTries - 1] * (1 + jitter)
    }

    /// Tries in all.
    public var maximumTries: Int { delays.count + 1 }
}

extension WebhookPayload {
    /// The deliveries' bodies that `transitions` of job `jobName` announce, in order: each transition's
    /// `job.status_changed`, and the ending's own event when it ended the job, with its failure reason (`state` is the
    /// job's state after them).
    public static func announcing(_ transitions: [JobTransition], jobName: String, state: JobState) -> [WebhookPayload] {
        transitions.flatMap { transition in
            WebhookEventType.announcing(status: transition.toStatus).map { type in
                WebhookPayload(
                    type: type, jobName: jobName, status: transition.toStatus, secondaryStatus: transition.toSecondaryStatus,
                    message: transition.message, failureReason: transition.toStatus.isTerminal ? state.failureReason : nil, time: transition.time)
            }
        }
    }
}
