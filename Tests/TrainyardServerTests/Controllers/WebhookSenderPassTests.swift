import Foundation
import Logging
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

@testable import TrainyardServer

/// `WebhookSender.runOnce`: the outbox's due deliveries reach a real HTTP receiver, signed, and each try is recorded;
/// a failed one waits for its retry instead of being sent again in the same pass. On PostgreSQL and on the in-memory
/// outbox.
@Suite struct WebhookSenderPassTests {
    static let secret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    static func sender(_ outbox: any WebhookRepository) -> WebhookSender {
        // A retry an hour away: a slow machine's second pass, seconds later, finds nothing due.
        WebhookSender(
            outbox: outbox, settings: WebhookSettings(schedule: WebhookRetrySchedule(delays: [3600]), timeout: 5, allowedNetworks: LiveApp.loopback),
            logger: Logger(label: "trainyard.tests.webhooks"))
    }

    @Test(arguments: RepositoryKind.allCases)
    func aDueDeliveryIsPostedSignedAndRecordedOnce(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { f in
            try await WebhookReceiver.run { receiver, url in
                receiver.trust(Self.secret)
                let project = try await f.projectID("team")
                let hook = try #require(try await f.webhooks.createWebhook(projectID: project, url: url, events: ["*"], secret: Self.secret))
                try await f.submit(projectID: project, job: "announced")

                try await Self.sender(f.webhooks).runOnce()
                let received = receiver.received
                #expect(received.map(\.type) == ["job.created"])
                #expect(received.first?.signatureValid == true)
                #expect((received.first?.data["job_name"] as? String) == "announced", "\(received.first?.body ?? "")")
                let deliveries = try await f.webhooks.webhookDeliveries(subscriptionID: hook.id)
                #expect(deliveries.map(\.status) == ["delivered"])
                #expect(deliveries.first?.attempts.map(\.statusCode) == [200])

                // Nothing is due any more.
                try await Self.sender(f.webhooks).runOnce()
                #expect(receiver.received.count == 1)
            }
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aRefusedDeliveryIsRecordedAndWaitsForItsRetry(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { f in
            try await WebhookReceiver.run { receiver, url in
                receiver.answer(with: [503])
                let project = try await f.projectID("team")
                let hook = try #require(try await f.webhooks.createWebhook(projectID: project, url: url, events: ["*"], secret: Self.secret))
                try await f.submit(projectID: project, job: "refused")

                try await Self.sender(f.webhooks).runOnce()
                try await Self.sender(f.webhooks).runOnce()
                #expect(receiver.received.count == 1)
                let delivery = try #require(try await f.webhooks.webhookDeliveries(subscriptionID: hook.id).first)
                #expect(delivery.status == "pending")
                #expect(delivery.attempts.map(\.statusCode) == [503])
                #expect(delivery.attempts.first?.responseExcerpt?.contains("503") == true, "\(delivery.attempts)")
            }
        }
    }
}
