import Foundation
import Logging
import Testing
import TrainyardCore

@testable import TrainyardServer

/// `WebhookSender.runOnce`: the outbox's due deliveries reach a real HTTP receiver, signed, and each try is recorded;
/// a failed one waits for its retry instead of being sent again in the same pass.
@Suite struct WebhookSenderPassTests {
    static let secret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    static func sender(_ f: ControllerFixture) -> WebhookSender {
        WebhookSender(store: f.store, settings: WebhookSettings(timeout: 5, allowedNetworks: LiveApp.loopback), logger: f.logger)
    }

    @Test func aDueDeliveryIsPostedSignedAndRecordedOnce() async throws {
        try await ControllerFixture.with { f in
            try await WebhookReceiver.run { receiver, url in
                receiver.trust(Self.secret)
                let hook = try #require(try await f.store.createWebhook(projectID: f.project.id, url: url, events: ["*"], secret: Self.secret))
                _ = try await f.submit("announced")

                try await Self.sender(f).runOnce()
                let received = receiver.received
                #expect(received.map(\.type) == ["job.created"])
                #expect(received.first?.signatureValid == true)
                #expect((received.first?.data["job_name"] as? String) == "announced", "\(received.first?.body ?? "")")
                let deliveries = try await f.store.webhookDeliveries(subscriptionID: hook.id)
                #expect(deliveries.map(\.status) == ["delivered"])
                #expect(deliveries.first?.attempts.map(\.statusCode) == [200])

                // Nothing is due any more.
                try await Self.sender(f).runOnce()
                #expect(receiver.received.count == 1)
            }
        }
    }

    @Test func aRefusedDeliveryIsRecordedAndWaitsForItsRetry() async throws {
        try await ControllerFixture.with { f in
            try await WebhookReceiver.run { receiver, url in
                receiver.answer(with: [503])
                let hook = try #require(try await f.store.createWebhook(projectID: f.project.id, url: url, events: ["*"], secret: Self.secret))
                _ = try await f.submit("refused")

                try await Self.sender(f).runOnce()
                try await Self.sender(f).runOnce()
                #expect(receiver.received.count == 1)
                let delivery = try #require(try await f.store.webhookDeliveries(subscriptionID: hook.id).first)
                #expect(delivery.status == "pending")
                #expect(delivery.attempts.map(\.statusCode) == [503])
                #expect(delivery.attempts.first?.responseExcerpt?.contains("503") == true, "\(delivery.attempts)")
            }
        }
    }
}
