import Foundation
import TrainyardCore

/// Webhook subscriptions and their outbox: the deliveries that job events cause, claimed by a sender for a lease,
/// sent outside any transaction, and recorded with every try.
///
/// ``PostgresStore`` is the service's implementation (its lifecycle transactions write the deliveries with the change
/// they announce); ``InMemoryWebhookRepository`` is its twin for fast tests. Both pass `WebhookRepositoryContractTests`.
public protocol WebhookRepository: Sendable {
    /// A new subscription, or nil when the project already holds `limit` of them.
    func createWebhook(projectID: Int64, url: String, events: [String], secret: String, limit: Int, now: Date) async throws -> WebhookRecord?
    /// A project's subscriptions, oldest first.
    func webhooks(projectID: Int64) async throws -> [WebhookRecord]
    /// The project's subscription `id`, if it has one.
    func webhook(projectID: Int64, id: String) async throws -> WebhookRecord?
    /// Changes the URL and/or events; `enable` clears a disabling (and the failure streak). Nil when the project has
    /// no such subscription.
    func updateWebhook(projectID: Int64, id: String, url: String?, events: [String]?, enable: Bool, now: Date) async throws -> WebhookRecord?
    /// Deletes the project's subscription `id` with its deliveries; false when the project has no such subscription.
    func deleteWebhook(projectID: Int64, id: String) async throws -> Bool

    /// Claims up to `limit` deliveries that are due, of enabled subscriptions, each the oldest still pending of its job
    /// and subscription (so one job's events reach a receiver in order), for `lease` seconds. Until the lease has
    /// passed no other sender (another claimer, another replica) claims them; a sender that dies mid-batch leaves them
    /// to be claimed again then (at least once; same ids). The lease must outlast the batch's sends.
    func claimWebhookDeliveries(limit: Int, lease: Double, now: Date) async throws -> WebhookClaim
    /// Records the tries of a claim: a 2xx delivered; otherwise tried again after the schedule's next delay, or failed
    /// for good when none is left; each releases its claim. A subscription that has only failed for
    /// `disableAfterSeconds` is disabled, and the project's other subscriptions that want `webhook.disabled` hear of
    /// it. Every try is recorded, its answer made storable (``WebhookTryResult/storable()``); a delivery whose lease ran
    /// out and was claimed again meanwhile keeps the state its new claimer gives it; the tries of a subscription
    /// deleted meanwhile are dropped.
    func recordWebhookTries(
        _ tries: [(send: WebhookSend, result: WebhookTryResult)], claim: WebhookClaim, schedule: WebhookRetrySchedule, disableAfterSeconds: Double,
        now: Date
    ) async throws -> (delivered: Int, disabled: [(subscription: String, reason: String)])
    /// A subscription's deliveries, newest first, with their tries.
    func webhookDeliveries(subscriptionID: String, limit: Int) async throws -> [WebhookDeliveryRecord]
    /// Queues a delivery to be sent again now; false when the subscription has no such delivery.
    func redeliverWebhook(subscriptionID: String, deliveryID: String, now: Date) async throws -> Bool
}

extension WebhookRepository {
    public func createWebhook(projectID: Int64, url: String, events: [String], secret: String, limit: Int = .max) async throws -> WebhookRecord? {
        try await createWebhook(projectID: projectID, url: url, events: events, secret: secret, limit: limit, now: Date())
    }

    public func updateWebhook(projectID: Int64, id: String, url: String?, events: [String]?, enable: Bool) async throws -> WebhookRecord? {
        try await updateWebhook(projectID: projectID, id: id, url: url, events: events, enable: enable, now: Date())
    }

    public func claimWebhookDeliveries(limit: Int, lease: Double) async throws -> WebhookClaim {
        try await claimWebhookDeliveries(limit: limit, lease: lease, now: Date())
    }

    public func recordWebhookTries(
        _ tries: [(send: WebhookSend, result: WebhookTryResult)], claim: WebhookClaim, schedule: WebhookRetrySchedule, disableAfterSeconds: Double
    ) async throws -> (delivered: Int, disabled: [(subscription: String, reason: String)]) {
        try await recordWebhookTries(tries, claim: claim, schedule: schedule, disableAfterSeconds: disableAfterSeconds, now: Date())
    }

    public func webhookDeliveries(subscriptionID: String) async throws -> [WebhookDeliveryRecord] {
        try await webhookDeliveries(subscriptionID: subscriptionID, limit: 100)
    }

    public func redeliverWebhook(subscriptionID: String, deliveryID: String) async throws -> Bool {
        try await redeliverWebhook(subscriptionID: subscriptionID, deliveryID: deliveryID, now: Date())
    }

    /// Claims up to `limit` due deliveries (``claimWebhookDeliveries(limit:lease:now:)``), hands them to `send` with no
    /// transaction open and no connection held, and records what it answers
    /// (``recordWebhookTries(_:claim:schedule:disableAfterSeconds:now:)``). Answers how many were claimed and
    /// delivered, and which subscriptions were disabled.
    public func sendWebhookDeliveries(
        limit: Int, lease: Double, schedule: WebhookRetrySchedule, disableAfterSeconds: Double,
        send: @Sendable ([WebhookSend]) async -> [(send: WebhookSend, result: WebhookTryResult)]
    ) async throws -> (claimed: Int, delivered: Int, disabled: [(subscription: String, reason: String)]) {
        let claim = try await claimWebhookDeliveries(limit: limit, lease: lease)
        guard !claim.sends.isEmpty else { return (0, 0, []) }
        let results = await send(claim.sends)
        let recorded = try await recordWebhookTries(results, claim: claim, schedule: schedule, disableAfterSeconds: disableAfterSeconds)
        return (claim.sends.count, recorded.delivered, recorded.disabled)
    }
}

/// Why a subscription was disabled: every try since `failingSince` failed, the last as `result` says.
func webhookDisabledReason(failingSince: Date, last result: WebhookTryResult) -> String {
    let last = result.statusCode.map { "HTTP \($0)" } ?? result.error ?? "no answer"
    return "every try since \(failingSince.formatted(.iso8601)) failed (the last: \(last))"
}

/// A webhook subscription as stored.
public struct WebhookRecord: Sendable, Equatable {
    public var id: String
    public var projectID: Int64
    public var url: String
    public var events: [String]
    public var secret: String
    public var createdAt: Date
    public var disabledAt: Date?
    public var disabledReason: String?
}

/// A delivery claimed for sending.
public struct WebhookSend: Sendable, Equatable {
    public var deliveryID: String
    public var subscriptionID: String
    public var url: String
    public var secret: String
    public var payload: String
    /// Tries before this one.
    public var tries: Int
    public var jobID: Int64 = 0
    public var jobName: String = ""
}

/// Deliveries claimed for sending, until their lease passes.
public struct WebhookClaim: Sendable {
    public var sends: [WebhookSend]
    /// The lease's end, written on every claimed delivery: recording a try checks that it is still there.
    public var claimedUntil: Date

    public init(sends: [WebhookSend], claimedUntil: Date) {
        self.sends = sends
        self.claimedUntil = claimedUntil
    }
}

/// No try of a claimed batch could be recorded (the database refused or was unreachable for each).
public struct WebhookRecordError: Error, CustomStringConvertible {
    public var deliveries: Int
    public var firstDelivery: String
    public var description: String { "none of \(deliveries) webhook tries could be recorded (the first: delivery \(firstDelivery))" }
}

/// What one try came to.
public struct WebhookTryResult: Sendable, Equatable {
    public var statusCode: Int?
    public var latencyMilliseconds: Int
    public var responseExcerpt: String?
    public var error: String?

    public init(statusCode: Int?, latencyMilliseconds: Int, responseExcerpt: String?, error: String?) {
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.responseExcerpt = responseExcerpt
        self.error = error
    }

    /// A 2xx answer.
    public var delivered: Bool { statusCode.map { (200..<300).contains($0) } ?? false }

    /// The longest response excerpt stored: enough to see what a receiver said, too little to make the sender a way to
    /// read pages.
    public static let maximumExcerptBytes = 256
    /// The longest error text stored.
    public static let maximumTextBytes = 512

    /// The result with the receiver's answer and the error text made storable and printable
    /// (``StorableText/printable(_:maximumBytes:)``): a receiver may answer anything, a NUL included, which the
    /// database refuses, or terminal escapes.
    public func storable() -> WebhookTryResult {
        var result = self
        result.responseExcerpt = responseExcerpt.map { StorableText.printable(Array($0.utf8), maximumBytes: Self.maximumExcerptBytes) }
        result.error = error.map { StorableText.printable(Array($0.utf8), maximumBytes: Self.maximumTextBytes) }
        return result
    }
}

/// A delivery with its tries, for the delivery log.
public struct WebhookDeliveryRecord: Sendable, Equatable {
    public var id: String
    public var eventType: String
    public var jobName: String
    public var status: String
    public var createdAt: Date
    public var attempts: [Attempt]

    public struct Attempt: Sendable, Equatable {
        public var time: Date
        public var statusCode: Int?
        public var latencyMilliseconds: Int
        public var responseExcerpt: String?
        public var error: String?
    }
}
