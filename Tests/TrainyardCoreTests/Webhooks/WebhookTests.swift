import Foundation
import Testing
import TrainyardCore

struct WebhookSignatureTests {
    /// The Standard Webhooks specification's published example (standard-webhooks/standard-webhooks, libraries' tests).
    @Test func theStandardWebhooksTestVectorSigns() throws {
        let secret = try #require(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let signature = secret.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func secretsParseOnlyInTheirFormAndNeverPrint() throws {
        #expect(WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == nil)
        #expect(WebhookSecret("whsec_not base64!") == nil)
        #expect(WebhookSecret("whsec_" + Data(repeating: 1, count: 8).base64EncodedString()) == nil)
        let generated = WebhookSecret.generate()
        #expect(WebhookSecret(generated.text) == generated && generated.key.count == 32)
        #expect(!"\(generated)".contains(generated.text))
    }
}

struct WebhookEventTests {
    @Test func aTransitionAnnouncesAStatusChangeAndAnEndingItsOwnType() {
        #expect(WebhookEventType.announcing(status: .inProgress) == [.jobStatusChanged])
        #expect(WebhookEventType.announcing(status: .completed) == [.jobStatusChanged, .jobCompleted])
        #expect(WebhookEventType.announcing(status: .failed) == [.jobStatusChanged, .jobFailed])
        #expect(WebhookEventType.announcing(status: .stopped) == [.jobStatusChanged, .jobStopped])
        #expect(WebhookEventType.announcing(status: .inProgress, created: true) == [.jobCreated])
    }

    @Test func theBodyIsTypeTimestampAndDataWithTheJobName() throws {
        let payload = WebhookPayload(
            type: .jobFailed, jobName: "mnist-1", status: .failed, secondaryStatus: .failed, message: "Training job failed",
            failureReason: "AlgorithmError: exit 3", time: Date(timeIntervalSince1970: 1_764_000_000.25))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(payload.json().utf8)) as? [String: Any])
        #expect(object["type"] as? String == "job.failed")
        #expect(object["timestamp"] as? String == "2025-11-24T16:00:00.250Z")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["job_name"] as? String == "mnist-1" && data["status"] as? String == "Failed")
        #expect(data["failure_reason"] as? String == "AlgorithmError: exit 3")
        // The same event always has the same bytes.
        #expect(payload.json() == payload.json())
    }

    @Test func aDisablingIsAnnouncedWithTheSubscriptionAndTheJob() throws {
        let body = WebhookDisabledPayload(
            webhookID: "wh_1", url: "https://hooks.example.com/x", reason: "every try since … failed", jobName: "mnist-1",
            time: Date(timeIntervalSince1970: 1_764_000_000)
        ).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "webhook.disabled")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["webhook_id"] as? String == "wh_1" && data["job_name"] as? String == "mnist-1" && data["url"] as? String == "https://hooks.example.com/x")
    }

    @Test func retriesFollowTheScheduleWithJitterThenStop() {
        let schedule = WebhookRetrySchedule.standard
        #expect(schedule.maximumTries == 8)
        #expect(schedule.delay(afterFailedTries: 1, jitter: 0) == 5)
        #expect(schedule.delay(afterFailedTries: 2, jitter: 0.2) == 360)
        #expect(schedule.delay(afterFailedTries: 7, jitter: -0.2) == 28_800)
        #expect(schedule.delay(afterFailedTries: 8) == nil)
        #expect(WebhookRetrySchedule(text: "1, 2.5,10") == WebhookRetrySchedule(delays: [1, 2.5, 10]))
        #expect(WebhookRetrySchedule(text: "1,-2") == nil && WebhookRetrySchedule(text: "") == nil)
    }
}
