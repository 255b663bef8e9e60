import Foundation
import TrainyardCore

/// ``WebhookRepository`` in memory: the twin of ``PostgresStore``'s subscriptions and outbox, for tests without a
/// database. Deliveries come from ``enqueue(projectID:jobID:payloads:now:)``, as a job repository's transitions write
/// them.
public actor InMemoryWebhookRepository: WebhookRepository {
    private struct Subscription {
        var record: WebhookRecord
        var failingSince: Date?
    }

    private struct Delivery {
        var id: String
        var seq: Int64
        var subscriptionID: String
        var jobID: Int64
        var jobName: String
        var eventType: String
        var payload: String
        var createdAt: Date
        var nextAttemptAt: Date
        var status = "pending"
        var tries = 0
        var claimedUntil: Date?
        var attempts: [WebhookDeliveryRecord.Attempt] = []
    }

    private var subscriptions: [String: Subscription] = [:]
    private var deliveries: [Delivery] = []
    private var lastSeq: Int64 = 0

    public init() {}

    public func createWebhook(projectID: Int64, url: String, events: [String], secret: String, limit: Int, now: Date) -> WebhookRecord? {
        guard subscriptions.values.count(where: { $0.record.projectID == projectID }) < limit else { return nil }
        let id = String("wh_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24))
        let record = WebhookRecord(id: id, projectID: projectID, url: url, events: events, secret: secret, createdAt: now)
        subscriptions[id] = Subscription(record: record)
        return record
    }

    public func webhooks(projectID: Int64) -> [WebhookRecord] {
        subscriptions.values.map(\.record).filter { $0.projectID == projectID }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func webhook(projectID: Int64, id: String) -> WebhookRecord? {
        subscriptions[id].map(\.record).flatMap { $0.projectID == projectID ? $0 : nil }
    }

    public func updateWebhook(projectID: Int64, id: String, url: String?, events: [String]?, enable: Bool, now: Date) -> WebhookRecord? {
        guard var subscription = subscriptions[id], subscription.record.projectID == projectID else { return nil }
        if let url { subscription.record.url = url }
        if let events { subscription.record.events = events }
        if enable {
            subscription.record.disabledAt = nil
            subscription.record.disabledReason = nil
            subscription.failingSince = nil
        }
        subscriptions[id] = subscription
        return subscription.record
    }

    public func deleteWebhook(projectID: Int64, id: String) -> Bool {
        guard subscriptions[id]?.record.projectID == projectID else { return false }
        subscriptions[id] = nil
        deliveries.removeAll { $0.subscriptionID == id }
        return true
    }

    /// Writes the deliveries that `payloads` (events of one job) cause: one per event and enabled subscription of the
    /// project that wants it, in the payloads' order, then the subscriptions'. Answers how many.
    @discardableResult
    public func enqueue(projectID: Int64, jobID: Int64, payloads: [WebhookPayload], now: Date) -> Int {
        var written = 0
        for payload in payloads {
            for subscription in wanting(payload.type.rawValue, projectID: projectID) {
                append(subscriptionID: subscription, jobID: jobID, jobName: payload.jobName, eventType: payload.type.rawValue, payload: payload.json(), now: now)
                written += 1
            }
        }
        return written
    }

    private func wanting(_ type: String, projectID: Int64, except excluded: String? = nil) -> [String] {
        subscriptions.values.map(\.record)
            .filter { $0.projectID == projectID && $0.disabledAt == nil && $0.id != excluded && ($0.events.contains(type) || $0.events.contains(WebhookEventType.wildcard)) }
            .map(\.id).sorted()
    }

    private func append(subscriptionID: String, jobID: Int64, jobName: String, eventType: String, payload: String, now: Date) {
        lastSeq += 1
        let id = "msg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        deliveries.append(
            Delivery(
                id: id, seq: lastSeq, subscriptionID: subscriptionID, jobID: jobID, jobName: jobName, eventType: eventType, payload: payload, createdAt: now,
                nextAttemptAt: now))
    }

    public func claimWebhookDeliveries(limit: Int, lease: Double, now: Date) -> WebhookClaim {
        let until = now.addingTimeInterval(lease)
        var firstPending: [String: Int64] = [:]  // per subscription and job: the oldest pending delivery's seq
        for delivery in deliveries where delivery.status == "pending" {
            let chain = "\(delivery.subscriptionID) \(delivery.jobID)"
            firstPending[chain] = min(firstPending[chain] ?? .max, delivery.seq)
        }
        let due = deliveries.indices.filter { index in
            let delivery = deliveries[index]
            return delivery.status == "pending" && delivery.nextAttemptAt <= now && (delivery.claimedUntil.map { $0 <= now } ?? true)
                && subscriptions[delivery.subscriptionID]?.record.disabledAt == nil
                && firstPending["\(delivery.subscriptionID) \(delivery.jobID)"] == delivery.seq
        }.sorted { (deliveries[$0].nextAttemptAt, deliveries[$0].seq) < (deliveries[$1].nextAttemptAt, deliveries[$1].seq) }.prefix(limit)
        var sends: [WebhookSend] = []
        for index in due {
            deliveries[index].claimedUntil = until
            let delivery = deliveries[index]
            guard let subscription = subscriptions[delivery.subscriptionID]?.record else { continue }
            sends.append(
                WebhookSend(
                    deliveryID: delivery.id, subscriptionID: delivery.subscriptionID, url: subscription.url, secret: subscription.secret,
                    payload: delivery.payload, tries: delivery.tries, jobID: delivery.jobID, jobName: delivery.jobName))
        }
        return WebhookClaim(sends: sends, claimedUntil: until)
    }

    public func recordWebhookTries(
        _ tries: [(send: WebhookSend, result: WebhookTryResult)], claim: WebhookClaim, schedule: WebhookRetrySchedule, disableAfterSeconds: Double,
        now: Date
    ) -> (delivered: Int, disabled: [(subscription: String, reason: String)]) {
        var delivered = 0
        var disabled: [(subscription: String, reason: String)] = []
        // Tries of subscriptions deleted meanwhile, or of deliveries gone with them, have nothing to be recorded on. As
        // the store records them: the delivered ones first (a success ends its subscription's failing streak), then the
        // failures.
        let storable = tries.map { (send: $0.send, result: $0.result.storable()) }
        let ordered = storable.filter(\.result.delivered) + storable.filter { !$0.result.delivered }
        for (send, result) in ordered where subscriptions[send.subscriptionID] != nil {
            guard let index = deliveries.firstIndex(where: { $0.id == send.deliveryID }) else { continue }
            deliveries[index].attempts.append(
                .init(
                    time: now, statusCode: result.statusCode, latencyMilliseconds: result.latencyMilliseconds, responseExcerpt: result.responseExcerpt,
                    error: result.error))
            // Claimed again by another sender after this claim's lease passed: that one's record counts.
            guard deliveries[index].claimedUntil == claim.claimedUntil else { continue }
            deliveries[index].tries += 1
            deliveries[index].claimedUntil = nil
            if result.delivered {
                deliveries[index].status = "delivered"
                subscriptions[send.subscriptionID]?.failingSince = nil
                delivered += 1
                continue
            }
            if let delay = schedule.delay(afterFailedTries: send.tries + 1) {
                deliveries[index].nextAttemptAt = now.addingTimeInterval(delay)
            } else {
                deliveries[index].status = "failed"
            }
            guard var subscription = subscriptions[send.subscriptionID] else { continue }
            let failingSince = subscription.failingSince ?? now
            subscription.failingSince = failingSince
            if subscription.record.disabledAt == nil, now.timeIntervalSince(failingSince) > disableAfterSeconds {
                let reason = webhookDisabledReason(failingSince: failingSince, last: result)
                subscription.record.disabledAt = now
                subscription.record.disabledReason = reason
                disabled.append((send.subscriptionID, reason))
                let payload = WebhookDisabledPayload(webhookID: send.subscriptionID, url: send.url, reason: reason, jobName: send.jobName, time: now).json()
                for other in wanting(WebhookEventType.webhookDisabled.rawValue, projectID: subscription.record.projectID, except: send.subscriptionID) {
                    append(
                        subscriptionID: other, jobID: send.jobID, jobName: send.jobName, eventType: WebhookEventType.webhookDisabled.rawValue, payload: payload,
                        now: now)
                }
            }
            subscriptions[send.subscriptionID] = subscription
        }
        return (delivered, disabled)
    }

    public func webhookDeliveries(subscriptionID: String, limit: Int) -> [WebhookDeliveryRecord] {
        deliveries.filter { $0.subscriptionID == subscriptionID }.sorted { $0.seq > $1.seq }.prefix(limit).map { delivery in
            WebhookDeliveryRecord(
                id: delivery.id, eventType: delivery.eventType, jobName: delivery.jobName, status: delivery.status, createdAt: delivery.createdAt,
                attempts: delivery.attempts.sorted { $0.time < $1.time })
        }
    }

    public func redeliverWebhook(subscriptionID: String, deliveryID: String, now: Date) -> Bool {
        guard let index = deliveries.firstIndex(where: { $0.id == deliveryID && $0.subscriptionID == subscriptionID }) else { return false }
        deliveries[index].status = "pending"
        deliveries[index].nextAttemptAt = now
        return true
    }
}
