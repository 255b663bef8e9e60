import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore: WebhookRepository {
    static let webhookColumns = "id, project_id, url, events, secret, created_at, disabled_at, disabled_reason"

    static func decodeWebhook(_ row: PostgresRow) throws -> WebhookRecord {
        let (id, projectID, url, events, secret, created, disabled, reason) = try row.decode(
            (String, Int64, String, [String], String, Date, Date?, String?).self)
        return WebhookRecord(
            id: id, projectID: projectID, url: url, events: events, secret: secret, createdAt: created, disabledAt: disabled, disabledReason: reason)
    }

    /// The count and the insert are one statement; concurrent creations may pass the limit by a few.
    public func createWebhook(
        projectID: Int64, url: String, events: [String], secret: String, limit: Int, now: Date
    ) async throws -> WebhookRecord? {
        let id = String("wh_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24))
        let rows = try await client.query(
            """
            INSERT INTO webhook_subscriptions (id, project_id, url, events, secret, created_at, updated_at)
            SELECT \(id), \(projectID), \(url), \(events), \(secret), \(now), \(now)
            WHERE (SELECT count(*) FROM webhook_subscriptions WHERE project_id = \(projectID)) < \(Int64(min(limit, Int(Int64.max))))
            RETURNING id
            """, logger: logger)
        for try await _ in rows {
            return WebhookRecord(id: id, projectID: projectID, url: url, events: events, secret: secret, createdAt: now)
        }
        return nil
    }

    public func webhooks(projectID: Int64) async throws -> [WebhookRecord] {
        var hooks: [WebhookRecord] = []
        for try await row in try await client.query(
            "SELECT \(unescaped: Self.webhookColumns) FROM webhook_subscriptions WHERE project_id = \(projectID) ORDER BY created_at, id",
            logger: logger)
        {
            hooks.append(try Self.decodeWebhook(row))
        }
        return hooks
    }

    public func webhook(projectID: Int64, id: String) async throws -> WebhookRecord? {
        for try await row in try await client.query(
            "SELECT \(unescaped: Self.webhookColumns) FROM webhook_subscriptions WHERE project_id = \(projectID) AND id = \(id)", logger: logger)
        {
            return try Self.decodeWebhook(row)
        }
        return nil
    }

    public func updateWebhook(projectID: Int64, id: String, url: String?, events: [String]?, enable: Bool, now: Date) async throws
        -> WebhookRecord?
    {
        for try await row in try await client.query(
            """
            UPDATE webhook_subscriptions SET url = coalesce(\(url), url), events = coalesce(\(events)::text[], events), updated_at = \(now),
                disabled_at = CASE WHEN \(enable) THEN NULL ELSE disabled_at END,
                disabled_reason = CASE WHEN \(enable) THEN NULL ELSE disabled_reason END,
                failing_since = CASE WHEN \(enable) THEN NULL ELSE failing_since END
            WHERE project_id = \(projectID) AND id = \(id)
            RETURNING \(unescaped: Self.webhookColumns)
            """, logger: logger)
        {
            return try Self.decodeWebhook(row)
        }
        return nil
    }

    public func deleteWebhook(projectID: Int64, id: String) async throws -> Bool {
        var deleted = false
        for try await _ in try await client.query(
            "DELETE FROM webhook_subscriptions WHERE project_id = \(projectID) AND id = \(id) RETURNING id", logger: logger)
        {
            deleted = true
        }
        return deleted
    }

    /// Writes the deliveries that `payloads` (events of one job) cause, one per event and subscription of the job's
    /// project that wants it, on the caller's transaction: they commit with the change they announce, or not at all.
    func enqueueWebhooks(on connection: PostgresConnection, projectID: Int64, jobID: Int64, payloads: [WebhookPayload], now: Date) async throws {
        guard let jobName = payloads.first?.jobName else { return }
        // One statement for all of them, in order (seq follows the payloads' order).
        try await connection.query(
            """
            INSERT INTO webhook_deliveries (id, subscription_id, job_id, job_name, event_type, payload, created_at, next_attempt_at)
            SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, \(jobID), \(jobName), p.type, p.body, \(now), \(now)
            FROM unnest(\(payloads.map(\.type.rawValue))::text[], \(payloads.map { $0.json() })::text[]) WITH ORDINALITY AS p(type, body, n)
            JOIN webhook_subscriptions s ON s.project_id = \(projectID) AND s.disabled_at IS NULL AND s.events && ARRAY[p.type, '*']
            ORDER BY p.n, s.id
            """, logger: logger)
    }

    /// One statement, committed at once.
    public func claimWebhookDeliveries(limit: Int, lease: Double, now: Date) async throws -> WebhookClaim {
        let until = now.addingTimeInterval(lease)
        var sends: [WebhookSend] = []
        for try await (id, subscription, url, secret, payload, tries, jobID, jobName) in try await client.query(
            """
            WITH due AS (
                SELECT d.id FROM webhook_deliveries d
                WHERE d.status = 'pending' AND d.next_attempt_at <= \(now) AND (d.claimed_until IS NULL OR d.claimed_until <= \(now))
                  AND EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = d.subscription_id AND s.disabled_at IS NULL)
                  AND NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries e
                      WHERE e.subscription_id = d.subscription_id AND e.job_id = d.job_id AND e.status = 'pending' AND e.seq < d.seq)
                ORDER BY d.next_attempt_at
                LIMIT \(limit)
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE webhook_deliveries d SET claimed_until = \(until)
            FROM due, webhook_subscriptions s
            WHERE d.id = due.id AND s.id = d.subscription_id
            RETURNING d.id, d.subscription_id, s.url, s.secret, d.payload, d.tries, d.job_id, d.job_name
            """, logger: logger
        ).decode((String, String, String, String, String, Int, Int64, String).self) {
            sends.append(
                WebhookSend(
                    deliveryID: id, subscriptionID: subscription, url: url, secret: secret, payload: payload, tries: tries, jobID: jobID, jobName: jobName))
        }
        return WebhookClaim(sends: sends, claimedUntil: until)
    }

    /// One transaction for the batch (a commit per try held the
    /// sender to a few hundred deliveries a second); should it fail, one per delivery, so that one bad row cannot undo
    /// the others (a delivery whose record fails stays claimed until its lease passes, and is sent again).
    public func recordWebhookTries(
        _ tries: [(send: WebhookSend, result: WebhookTryResult)], claim: WebhookClaim, schedule: WebhookRetrySchedule, disableAfterSeconds: Double,
        now: Date
    ) async throws -> (delivered: Int, disabled: [(subscription: String, reason: String)]) {
        guard !tries.isEmpty else { return (0, []) }
        // What receivers answered is theirs to choose: stored only once made storable.
        let tries = tries.map { (send: $0.send, result: $0.result.storable()) }
        do {
            return try await client.transaction(logger: logger) { connection in
                try await recordWebhookTries(on: connection, tries, claimedUntil: claim.claimedUntil, schedule: schedule, disableAfterSeconds: disableAfterSeconds, now: now)
            }
        } catch {
            logger.warning("recording a batch of webhook tries failed; recording them one by one", metadata: ["error": "\(LoggedError.describe(error))"])
        }
        var delivered = 0
        var disabled: [(subscription: String, reason: String)] = []
        var failures = 0
        for one in tries {
            do {
                let recorded = try await client.transaction(logger: logger) { connection in
                    try await recordWebhookTries(on: connection, [one], claimedUntil: claim.claimedUntil, schedule: schedule, disableAfterSeconds: disableAfterSeconds, now: now)
                }
                delivered += recorded.delivered
                disabled += recorded.disabled
            } catch {
                failures += 1
                logger.error(
                    "recording a webhook try failed; it is sent again once its claim has passed",
                    metadata: ["delivery": "\(one.send.deliveryID)", "job": "\(one.send.jobName)", "error": "\(LoggedError.describe(error))"])
            }
        }
        if failures == tries.count, let first = tries.first {
            throw WebhookRecordError(deliveries: failures, firstDelivery: first.send.deliveryID)
        }
        return (delivered, disabled)
    }

    /// Records `tries` on `connection`'s transaction; see ``recordWebhookTries(_:claim:schedule:disableAfterSeconds:now:)``.
    func recordWebhookTries(
        on connection: PostgresConnection, _ tries: [(send: WebhookSend, result: WebhookTryResult)], claimedUntil: Date, schedule: WebhookRetrySchedule,
        disableAfterSeconds: Double, now: Date
    ) async throws -> (delivered: Int, disabled: [(subscription: String, reason: String)]) {
        // The subscriptions first, in one order: deleting one locks it and then its deliveries, and a record that
        // locked a delivery before its subscription deadlocked with it. A subscription deleted meanwhile took its
        // deliveries along: their tries have nothing left to be recorded on.
        var live: Set<String> = []
        for try await id in try await connection.query(
            """
            SELECT id FROM webhook_subscriptions WHERE id = ANY(\(Array(Set(tries.map(\.send.subscriptionID))).sorted()))
            ORDER BY id FOR NO KEY UPDATE
            """, logger: logger
        ).decode(String.self) {
            live.insert(id)
        }
        let tries = tries.filter { live.contains($0.send.subscriptionID) }
        guard !tries.isEmpty else { return (0, []) }
        try await recordWebhookAttempts(on: connection, tries, now: now)
        let delivered = tries.filter(\.result.delivered)
        var deliveredCount = 0
        if !delivered.isEmpty {
            var subscriptions: Set<String> = []
            for try await subscription in try await connection.query(
                """
                UPDATE webhook_deliveries SET status = 'delivered', tries = tries + 1, claimed_until = NULL
                WHERE id = ANY(\(delivered.map(\.send.deliveryID))) AND claimed_until = \(claimedUntil)
                RETURNING subscription_id
                """, logger: logger
            ).decode(String.self) {
                deliveredCount += 1
                subscriptions.insert(subscription)
            }
            // Only subscriptions that were failing are written.
            try await connection.query(
                """
                UPDATE webhook_subscriptions SET failing_since = NULL
                WHERE id = ANY(\(Array(subscriptions))) AND failing_since IS NOT NULL
                """, logger: logger)
        }
        var disabled: [(String, String)] = []
        for (send, result) in tries where !result.delivered {
            if let reason = try await recordFailure(
                on: connection, send, result: result, claimedUntil: claimedUntil, schedule: schedule, disableAfterSeconds: disableAfterSeconds, now: now)
            {
                disabled.append((send.subscriptionID, reason))
            }
        }
        return (deliveredCount, disabled)
    }

    /// Inserts the tries' `webhook_attempts` rows: in one statement, and should the database refuse that, one row at a
    /// time, each under a savepoint, so that one bad row cannot roll back the batch (and have every receiver in it
    /// posted to again). A row refused alone is stored without the receiver's answer.
    private func recordWebhookAttempts(
        on connection: PostgresConnection, _ tries: [(send: WebhookSend, result: WebhookTryResult)], now: Date
    ) async throws {
        do {
            try await connection.query("SAVEPOINT webhook_attempts", logger: logger)
            try await insertWebhookAttempts(on: connection, tries, now: now)
            try await connection.query("RELEASE SAVEPOINT webhook_attempts", logger: logger)
            return
        } catch {
            logger.warning(
                "recording a batch of webhook tries failed; recording them one by one", metadata: ["error": "\(LoggedError.describe(error))"])
            try await connection.query("ROLLBACK TO SAVEPOINT webhook_attempts", logger: logger)
            try await connection.query("RELEASE SAVEPOINT webhook_attempts", logger: logger)
        }
        for one in tries {
            do {
                try await connection.query("SAVEPOINT webhook_attempt", logger: logger)
                try await insertWebhookAttempts(on: connection, [one], now: now)
                try await connection.query("RELEASE SAVEPOINT webhook_attempt", logger: logger)
            } catch {
                logger.error(
                    "recording a webhook try failed; recording it without the receiver's answer",
                    metadata: ["delivery": "\(one.send.deliveryID)", "job": "\(one.send.jobName)", "error": "\(LoggedError.describe(error))"])
                try await connection.query("ROLLBACK TO SAVEPOINT webhook_attempt", logger: logger)
                try await connection.query("RELEASE SAVEPOINT webhook_attempt", logger: logger)
                var result = one.result
                result.responseExcerpt = nil
                result.error = "the receiver's answer could not be stored"
                try await insertWebhookAttempts(on: connection, [(one.send, result)], now: now)
            }
        }
    }

    private func insertWebhookAttempts(on connection: PostgresConnection, _ tries: [(send: WebhookSend, result: WebhookTryResult)], now: Date)
        async throws
    {
        // (Arrays cannot hold NULLs here: -1 and '' stand for "none".)
        try await connection.query(
            """
            INSERT INTO webhook_attempts (delivery_id, time, status_code, latency_ms, response_excerpt, error)
            SELECT u.id, \(now), nullif(u.code, -1), u.latency, nullif(u.excerpt, ''), nullif(u.error, '')
            FROM unnest(\(tries.map(\.send.deliveryID))::text[], \(tries.map { $0.result.statusCode ?? -1 })::int[],
                        \(tries.map(\.result.latencyMilliseconds))::int[], \(tries.map { $0.result.responseExcerpt ?? "" })::text[],
                        \(tries.map { $0.result.error ?? "" })::text[]) AS u(id, code, latency, excerpt, error)
            """, logger: logger)
    }

    private func recordFailure(
        on connection: PostgresConnection, _ send: WebhookSend, result: WebhookTryResult, claimedUntil: Date, schedule: WebhookRetrySchedule,
        disableAfterSeconds: Double, now: Date
    ) async throws -> String? {
        let next = schedule.delay(afterFailedTries: send.tries + 1).map { now.addingTimeInterval($0) }
        var stillClaimed = false
        for try await _ in try await connection.query(
            """
            UPDATE webhook_deliveries SET tries = tries + 1, claimed_until = NULL,
                status = CASE WHEN \(next == nil) THEN 'failed' ELSE 'pending' END, next_attempt_at = coalesce(\(next), next_attempt_at)
            WHERE id = \(send.deliveryID) AND claimed_until = \(claimedUntil)
            RETURNING id
            """, logger: logger)
        {
            stillClaimed = true
        }
        // Claimed again by another sender after this claim's lease passed: that one's record counts.
        guard stillClaimed else { return nil }
        var failingSince = now
        var alreadyDisabled = false
        for try await (since, disabledAt) in try await connection.query(
            // NO KEY UPDATE, as the recording already holds: FOR UPDATE would wait on every transaction adding a delivery
            // to the subscription (its foreign key takes KEY SHARE), which may wait on this one, a deadlock.
            "SELECT failing_since, disabled_at FROM webhook_subscriptions WHERE id = \(send.subscriptionID) FOR NO KEY UPDATE", logger: logger
        ).decode((Date?, Date?).self) {
            failingSince = since ?? now
            alreadyDisabled = disabledAt != nil
        }
        var disabled: String?
        if !alreadyDisabled, now.timeIntervalSince(failingSince) > disableAfterSeconds {
            disabled = webhookDisabledReason(failingSince: failingSince, last: result)
        }
        try await connection.query(
            """
            UPDATE webhook_subscriptions SET failing_since = \(failingSince),
                disabled_at = CASE WHEN \(disabled != nil) THEN \(now) ELSE disabled_at END,
                disabled_reason = coalesce(\(disabled), disabled_reason)
            WHERE id = \(send.subscriptionID)
            """, logger: logger)
        if let disabled {
            // The project hears of it through its other subscriptions that want `webhook.disabled`.
            let payload = WebhookDisabledPayload(webhookID: send.subscriptionID, url: send.url, reason: disabled, jobName: send.jobName, time: now).json()
            try await connection.query(
                """
                INSERT INTO webhook_deliveries (id, subscription_id, job_id, job_name, event_type, payload, created_at, next_attempt_at)
                SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, \(send.jobID), \(send.jobName), 'webhook.disabled', \(payload), \(now), \(now)
                FROM webhook_subscriptions s
                WHERE s.project_id = (SELECT project_id FROM webhook_subscriptions WHERE id = \(send.subscriptionID))
                  AND s.id <> \(send.subscriptionID) AND s.disabled_at IS NULL AND s.events && ARRAY['webhook.disabled', '*']
                """, logger: logger)
        }
        return disabled
    }

    public func webhookDeliveries(subscriptionID: String, limit: Int) async throws -> [WebhookDeliveryRecord] {
        var deliveries: [WebhookDeliveryRecord] = []
        for try await (id, type, job, status, created) in try await client.query(
            """
            SELECT id, event_type, job_name, status, created_at FROM webhook_deliveries
            WHERE subscription_id = \(subscriptionID) ORDER BY seq DESC LIMIT \(limit)
            """, logger: logger
        ).decode((String, String, String, String, Date).self) {
            deliveries.append(WebhookDeliveryRecord(id: id, eventType: type, jobName: job, status: status, createdAt: created, attempts: []))
        }
        guard !deliveries.isEmpty else { return [] }
        var index: [String: Int] = [:]
        for (offset, delivery) in deliveries.enumerated() { index[delivery.id] = offset }
        for try await (id, time, code, latency, excerpt, error) in try await client.query(
            """
            SELECT delivery_id, time, status_code, latency_ms, response_excerpt, error FROM webhook_attempts
            WHERE delivery_id = ANY(\(deliveries.map(\.id))) ORDER BY time
            """, logger: logger
        ).decode((String, Date, Int?, Int, String?, String?).self) {
            if let offset = index[id] {
                deliveries[offset].attempts.append(
                    .init(time: time, statusCode: code, latencyMilliseconds: latency, responseExcerpt: excerpt, error: error))
            }
        }
        return deliveries
    }

    public func redeliverWebhook(subscriptionID: String, deliveryID: String, now: Date) async throws -> Bool {
        var found = false
        for try await _ in try await client.query(
            """
            UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = \(now)
            WHERE id = \(deliveryID) AND subscription_id = \(subscriptionID) RETURNING id
            """, logger: logger)
        {
            found = true
        }
        return found
    }
}
