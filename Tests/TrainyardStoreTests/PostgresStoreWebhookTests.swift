import Foundation
import PostgresNIO
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardStore

/// PostgreSQL's webhook outbox: nothing is held open while a batch is sent. What every webhook repository does is in
/// WebhookRepositoryContractTests.
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

}
