import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

/// The webhook outbox's claims are leases: nothing is held open while a batch is sent, a crashed sender's deliveries
/// are claimed again once its lease passes, and recording is per delivery when the batch cannot be.
@Suite struct PostgresStoreWebhookTests {
    /// A project with one subscription and `jobs` jobs, each with its `job.created` delivery due.
    static func outbox(_ store: PostgresStore, jobs: Int) async throws -> Date {
        let project = try await store.createProject(name: "team").0
        _ = try await store.createWebhook(projectID: project.id, url: "http://192.0.2.1/hook", events: ["*"], secret: WebhookSecret.generate().text)
        for index in 0..<jobs {
            let name = "job-\(index)"
            _ = try await store.createJob(projectID: project.id, name: name, spec: PostgresStoreJobTests.spec(name), idempotencyKey: nil, requestHash: "h")
        }
        return Date().addingTimeInterval(1)
    }

    static func status(_ store: PostgresStore, _ delivery: String) async throws -> (status: String, tries: Int, attempts: Int) {
        for try await row in try await store.client.query(
            """
            SELECT status, tries, (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id)::int
            FROM webhook_deliveries d WHERE id = \(delivery)
            """, logger: store.logger
        ).decode((String, Int, Int).self) {
            return (row.0, row.1, row.2)
        }
        return ("missing", -1, -1)
    }

    static let schedule = WebhookRetrySchedule(delays: [60])

    @Test func aClaimIsALeaseOthersSkipAndACrashedSendersDeliveriesAreClaimedAgainOnceItPasses() async throws {
        try await TestPostgres.withStore { store in
            // Given two due deliveries claimed by a sender (that then dies without recording).
            let now = try await Self.outbox(store, jobs: 2)
            let first = try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            #expect(first.sends.count == 2)
            // When another sender claims before the lease has passed, it gets none; after, it gets both again.
            #expect(try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(29)).sends.isEmpty)
            let again = try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(31))
            #expect(Set(again.sends.map(\.deliveryID)) == Set(first.sends.map(\.deliveryID)))
            // Then the dead sender's late record keeps its tries but does not decide the deliveries; the new claim's does.
            let late = first.sends.map { (send: $0, result: WebhookTryResult(statusCode: 200, latencyMilliseconds: 5, responseExcerpt: "ok", error: nil)) }
            let stale = try await store.recordWebhookTries(late, claim: first, schedule: Self.schedule, disableAfterSeconds: 600, now: now.addingTimeInterval(32))
            #expect(stale.delivered == 0)
            for send in first.sends { #expect(try await Self.status(store, send.deliveryID) == ("pending", 0, 1)) }
            let failed = again.sends.map { (send: $0, result: WebhookTryResult(statusCode: 503, latencyMilliseconds: 5, responseExcerpt: nil, error: nil)) }
            _ = try await store.recordWebhookTries(failed, claim: again, schedule: Self.schedule, disableAfterSeconds: 600, now: now.addingTimeInterval(33))
            for send in again.sends { #expect(try await Self.status(store, send.deliveryID) == ("pending", 1, 2)) }
            // A recorded delivery is released: due again on its schedule, not after the lease.
            #expect(try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(34)).sends.isEmpty)
            #expect(try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(33 + 60 * 1.2 + 1)).sends.count == 2)
        }
    }

    @Test func nothingIsHeldOpenInTheDatabaseWhileABatchIsSent() async throws {
        try await TestPostgres.withStore { store in
            _ = try await Self.outbox(store, jobs: 3)
            // When a batch is sent, the sending sees no transaction open on the database.
            let open = try await store.sendWebhookDeliveries(limit: 10, lease: 30, schedule: Self.schedule, disableAfterSeconds: 600) { claimed in
                var transactions = -1
                do {
                    for try await count in try await store.client.query(
                        "SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()",
                        logger: store.logger
                    ).decode(Int.self) {
                        transactions = count
                    }
                } catch {
                    transactions = -1
                }
                return claimed.map { (send: $0, result: WebhookTryResult(statusCode: transactions == 0 ? 200 : 599, latencyMilliseconds: 1, responseExcerpt: nil, error: nil)) }
            }
            // Then every try saw none (and was delivered).
            #expect(open.claimed == 3 && open.delivered == 3)
        }
    }

    @Test func aTryTheDatabaseRefusesDoesNotUndoTheRecordsOfTheOthers() async throws {
        try await TestPostgres.withStore { store in
            let now = try await Self.outbox(store, jobs: 2)
            let claim = try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            // Given a batch in which one try cannot be stored at all (its delivery is gone).
            var bogus = try #require(claim.sends.first)
            bogus.deliveryID = "msg_gone"
            let tries = (claim.sends + [bogus]).map {
                (send: $0, result: WebhookTryResult(statusCode: 200, latencyMilliseconds: 1, responseExcerpt: "fine\u{0}\u{1B}[0m", error: nil))
            }
            // When it is recorded, the others are recorded delivered, their answers made printable.
            let recorded = try await store.recordWebhookTries(tries, claim: claim, schedule: Self.schedule, disableAfterSeconds: 600, now: now)
            #expect(recorded.delivered == 2)
            for send in claim.sends { #expect(try await Self.status(store, send.deliveryID) == ("delivered", 1, 1)) }
            let excerpts = try await store.webhookDeliveries(subscriptionID: bogus.subscriptionID).flatMap(\.attempts).compactMap(\.responseExcerpt)
            #expect(excerpts == ["fine\u{FFFD}\u{FFFD}[0m", "fine\u{FFFD}\u{FFFD}[0m"])
        }
    }

    @Test func aSubscriptionDeletedWhileItsBatchWasSentLeavesNothingToRecordAndNoError() async throws {
        try await TestPostgres.withStore { store in
            let now = try await Self.outbox(store, jobs: 2)
            let claim = try await store.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            let send = try #require(claim.sends.first)
            let project = try #require(try await store.project(named: "team"))
            // Given the subscription deleted (its deliveries with it) while the batch was out.
            #expect(try await store.deleteWebhook(projectID: project.id, id: send.subscriptionID))
            // When the tries come back, failed and delivered alike, they are dropped: nothing throws, nothing is sent again.
            let tries = claim.sends.enumerated().map { index, send in
                (send: send, result: WebhookTryResult(statusCode: index == 0 ? 200 : 503, latencyMilliseconds: 1, responseExcerpt: nil, error: nil))
            }
            let recorded = try await store.recordWebhookTries(tries, claim: claim, schedule: Self.schedule, disableAfterSeconds: 0, now: now)
            #expect(recorded.delivered == 0)
            #expect(recorded.disabled.isEmpty)
            for send in claim.sends { #expect(try await Self.status(store, send.deliveryID) == ("missing", -1, -1)) }
        }
    }
}
