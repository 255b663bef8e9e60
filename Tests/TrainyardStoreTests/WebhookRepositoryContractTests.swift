import Foundation
import Testing
import TrainyardCore
import TrainyardStore
import TrainyardTestSupport

/// What every ``WebhookRepository`` does: PostgreSQL's and the in-memory twin.
@Suite struct WebhookRepositoryContractTests {
    static let schedule = WebhookRetrySchedule(delays: [60])
    static let secret = WebhookSecret.generate().text

    static func answered(_ sends: [WebhookSend], _ status: Int?, excerpt: String? = nil, error: String? = nil) -> [(send: WebhookSend, result: WebhookTryResult)] {
        sends.map { (send: $0, result: WebhookTryResult(statusCode: status, latencyMilliseconds: 3, responseExcerpt: excerpt, error: error)) }
    }

    /// The delivery's state and how many tries it has on record.
    static func state(_ webhooks: any WebhookRepository, _ send: WebhookSend) async throws -> (String, Int) {
        let delivery = try await webhooks.webhookDeliveries(subscriptionID: send.subscriptionID).first { $0.id == send.deliveryID }
        return delivery.map { ($0.status, $0.attempts.count) } ?? ("missing", -1)
    }

    /// Project `team` with a subscription to every event and two jobs submitted: two deliveries due at `now`.
    static func twoDueDeliveries(_ fixture: WebhookRepositoryFixture) async throws -> (project: Int64, now: Date) {
        let project = try await fixture.projectID("team")
        _ = try await fixture.webhooks.createWebhook(projectID: project, url: "http://192.0.2.1/", events: ["*"], secret: Self.secret)
        try await fixture.submit(projectID: project, job: "job-0")
        try await fixture.submit(projectID: project, job: "job-1")
        return (project, Date().addingTimeInterval(1))
    }

    @Test(arguments: RepositoryKind.allCases)
    func subscriptionsBelongToTheirProjectAndStopAtItsLimit(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let ours = try await fixture.projectID("team-a")
            let theirs = try await fixture.projectID("team-b")
            let first = try #require(try await webhooks.createWebhook(projectID: ours, url: "http://192.0.2.1/a", events: ["*"], secret: Self.secret, limit: 2))
            let second = try #require(
                try await webhooks.createWebhook(projectID: ours, url: "http://192.0.2.1/b", events: ["job.completed"], secret: Self.secret, limit: 2))
            #expect(try await webhooks.createWebhook(projectID: ours, url: "http://192.0.2.1/c", events: ["*"], secret: Self.secret, limit: 2) == nil)
            #expect(try await webhooks.createWebhook(projectID: theirs, url: "http://192.0.2.1/a", events: ["*"], secret: Self.secret, limit: 2) != nil)
            #expect(try await webhooks.webhooks(projectID: ours).map(\.id) == [first.id, second.id])
            #expect(try await webhooks.webhook(projectID: ours, id: first.id)?.url == "http://192.0.2.1/a")

            // Another project cannot read, change or delete them.
            #expect(try await webhooks.webhook(projectID: theirs, id: first.id) == nil)
            #expect(try await webhooks.updateWebhook(projectID: theirs, id: first.id, url: "http://192.0.2.9/", events: nil, enable: true) == nil)
            #expect(try await webhooks.deleteWebhook(projectID: theirs, id: first.id) == false)

            let changed = try await webhooks.updateWebhook(projectID: ours, id: second.id, url: nil, events: ["job.failed", "job.stopped"], enable: false)
            #expect(changed?.url == "http://192.0.2.1/b" && changed?.events == ["job.failed", "job.stopped"])
            #expect(try await webhooks.deleteWebhook(projectID: ours, id: first.id))
            #expect(try await webhooks.webhooks(projectID: ours).map(\.id) == [second.id])
            #expect(try await webhooks.webhook(projectID: ours, id: first.id) == nil)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aJobsEventsReachOnlyItsProjectsSubscriptionsThatWantThem(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let ours = try await fixture.projectID("team-a")
            let theirs = try await fixture.projectID("team-b")
            let everything = try #require(try await webhooks.createWebhook(projectID: ours, url: "http://192.0.2.1/all", events: ["*"], secret: Self.secret))
            let stops = try #require(try await webhooks.createWebhook(projectID: ours, url: "http://192.0.2.1/s", events: ["job.stopped"], secret: Self.secret))
            let completions = try #require(
                try await webhooks.createWebhook(projectID: ours, url: "http://192.0.2.1/c", events: ["job.completed"], secret: Self.secret))
            let other = try #require(try await webhooks.createWebhook(projectID: theirs, url: "http://192.0.2.2/all", events: ["*"], secret: Self.secret))
            // Both projects submit a job of the same name.
            try await fixture.submit(projectID: ours, job: "train")
            try await fixture.submit(projectID: theirs, job: "train")
            try await fixture.stop(projectID: ours, job: "train")

            let announced = Array(try await webhooks.webhookDeliveries(subscriptionID: everything.id).map(\.eventType).reversed())
            #expect(announced == ["job.created", "job.status_changed", "job.status_changed", "job.stopped"], "\(announced)")
            #expect(try await webhooks.webhookDeliveries(subscriptionID: stops.id).map(\.eventType) == ["job.stopped"])
            #expect(try await webhooks.webhookDeliveries(subscriptionID: completions.id).isEmpty)
            #expect(try await webhooks.webhookDeliveries(subscriptionID: other.id).map(\.eventType) == ["job.created"])
            let delivery = try #require(try await webhooks.webhookDeliveries(subscriptionID: stops.id).first)
            #expect(delivery.jobName == "train" && delivery.status == "pending" && delivery.attempts.isEmpty)

            // Each claim carries its subscription's URL and secret and the event's body.
            let claim = try await webhooks.claimWebhookDeliveries(limit: 100, lease: 30, now: Date().addingTimeInterval(1))
            #expect(Set(claim.sends.map(\.subscriptionID)) == [everything.id, stops.id, other.id])
            let sent = try #require(claim.sends.first { $0.subscriptionID == other.id })
            #expect(sent.url == "http://192.0.2.2/all" && sent.secret == Self.secret && sent.jobName == "train" && sent.tries == 0)
            #expect(sent.payload.contains("\"type\":\"job.created\""))
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func oneJobsEventsReachAReceiverInOrder(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let project = try await fixture.projectID("team")
            _ = try await webhooks.createWebhook(projectID: project, url: "http://192.0.2.1/", events: ["job.created", "job.stopped"], secret: Self.secret)
            try await fixture.submit(projectID: project, job: "first")
            try await fixture.stop(projectID: project, job: "first")
            try await fixture.submit(projectID: project, job: "second")
            let now = Date().addingTimeInterval(1)
            // The stop waits for the creation before it; another job's event does not.
            let claim = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            #expect(claim.sends.map(\.jobName).sorted() == ["first", "second"])
            #expect(claim.sends.allSatisfy { $0.payload.contains("job.created") })
            _ = try await webhooks.recordWebhookTries(Self.answered(claim.sends, 204), claim: claim, schedule: Self.schedule, disableAfterSeconds: 600, now: now)
            let next = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            #expect(next.sends.map(\.jobName) == ["first"])
            #expect(next.sends.first?.payload.contains("job.stopped") == true)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aClaimIsALeaseAndACrashedSendersDeliveriesAreClaimedAgainOnceItPasses(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let (_, now) = try await Self.twoDueDeliveries(fixture)
            // Given two due deliveries claimed by a sender (that then dies without recording).
            let first = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            #expect(first.sends.count == 2)
            // When another sender claims before the lease has passed, it gets none; after, it gets both again.
            #expect(try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(29)).sends.isEmpty)
            let again = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(31))
            #expect(Set(again.sends.map(\.deliveryID)) == Set(first.sends.map(\.deliveryID)))
            // Then the dead sender's late record keeps its tries but does not decide the deliveries; the new claim's does.
            let stale = try await webhooks.recordWebhookTries(
                Self.answered(first.sends, 200, excerpt: "ok"), claim: first, schedule: Self.schedule, disableAfterSeconds: 600, now: now.addingTimeInterval(32))
            #expect(stale.delivered == 0)
            for send in first.sends { #expect(try await Self.state(webhooks, send) == ("pending", 1)) }
            _ = try await webhooks.recordWebhookTries(
                Self.answered(again.sends, 503), claim: again, schedule: Self.schedule, disableAfterSeconds: 600, now: now.addingTimeInterval(33))
            for send in again.sends { #expect(try await Self.state(webhooks, send) == ("pending", 2)) }
            // A recorded delivery is released: due again on its schedule (60 s ± 20 %), not after the lease.
            #expect(try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(34)).sends.isEmpty)
            let retried = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(33 + 60 * 1.2 + 1))
            #expect(retried.sends.count == 2 && retried.sends.allSatisfy { $0.tries == 1 })
            // The schedule has no second delay: the next failure is final, and a failed delivery is not claimed again.
            _ = try await webhooks.recordWebhookTries(
                Self.answered(retried.sends, nil, error: "connection refused"), claim: retried, schedule: Self.schedule, disableAfterSeconds: 600,
                now: now.addingTimeInterval(110))
            for send in retried.sends { #expect(try await Self.state(webhooks, send) == ("failed", 3)) }
            #expect(try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(10_000)).sends.isEmpty)
            // Until it is redelivered by hand.
            let send = try #require(retried.sends.first)
            #expect(try await webhooks.redeliverWebhook(subscriptionID: send.subscriptionID, deliveryID: send.deliveryID, now: now.addingTimeInterval(200)))
            #expect(try await webhooks.redeliverWebhook(subscriptionID: send.subscriptionID, deliveryID: "msg_none", now: now.addingTimeInterval(200)) == false)
            #expect(try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(201)).sends.map(\.deliveryID) == [send.deliveryID])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aSubscriptionThatOnlyFailsIsDisabledAndTheProjectsOtherSubscriptionsHearOfIt(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let project = try await fixture.projectID("team")
            let failing = try #require(try await webhooks.createWebhook(projectID: project, url: "http://192.0.2.1/", events: ["job.created"], secret: Self.secret))
            let watcher = try #require(
                try await webhooks.createWebhook(projectID: project, url: "http://192.0.2.2/", events: ["webhook.disabled"], secret: Self.secret))
            try await fixture.submit(projectID: project, job: "train")
            let now = Date().addingTimeInterval(1)
            let claim = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            let first = try await webhooks.recordWebhookTries(Self.answered(claim.sends, 503), claim: claim, schedule: Self.schedule, disableAfterSeconds: 100, now: now)
            #expect(first.disabled.isEmpty)
            // Still failing past the allowance: disabled, with the reason.
            let retry = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(150))
            #expect(retry.sends.map(\.subscriptionID) == [failing.id])
            let second = try await webhooks.recordWebhookTries(
                Self.answered(retry.sends, 410), claim: retry, schedule: WebhookRetrySchedule(delays: [60, 60]), disableAfterSeconds: 100,
                now: now.addingTimeInterval(150))
            #expect(second.disabled.map(\.subscription) == [failing.id])
            #expect(second.disabled.first?.reason.contains("(the last: HTTP 410)") == true)
            let disabled = try #require(try await webhooks.webhook(projectID: project, id: failing.id))
            #expect(disabled.disabledAt != nil && disabled.disabledReason == second.disabled.first?.reason)
            // The watcher is told; the disabled subscription's pending delivery waits.
            let told = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(1_000))
            #expect(told.sends.map(\.subscriptionID) == [watcher.id])
            #expect(told.sends.first?.payload.contains(failing.id) == true)
            // New events skip it too, until it is enabled again.
            try await fixture.submit(projectID: project, job: "later")
            #expect(try await webhooks.webhookDeliveries(subscriptionID: failing.id).map(\.jobName) == ["train"])
            let enabled = try await webhooks.updateWebhook(projectID: project, id: failing.id, url: nil, events: nil, enable: true, now: now.addingTimeInterval(1_001))
            #expect(enabled?.disabledAt == nil && enabled?.disabledReason == nil)
            let resumed = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(1_002))
            #expect(resumed.sends.map(\.subscriptionID) == [failing.id])
        }
    }

    /// In one batch, a success ends the subscription's failing streak whatever the order of its tries: a failure of
    /// another job's delivery in the same batch starts a new streak rather than disabling it.
    @Test(arguments: RepositoryKind.allCases)
    func aSuccessInABatchEndsTheFailingStreakWhateverTheOrderOfItsTries(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let (project, now) = try await Self.twoDueDeliveries(fixture)
            let hook = try #require(try await webhooks.webhooks(projectID: project).first)
            // Failing since `now`: both deliveries fail once.
            let first = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            _ = try await webhooks.recordWebhookTries(Self.answered(first.sends, 503), claim: first, schedule: Self.schedule, disableAfterSeconds: 100, now: now)
            // Past the allowance, one fails again and the other is delivered, the failure first in the batch.
            let later = now.addingTimeInterval(200)
            let second = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: later)
            #expect(second.sends.count == 2)
            let tries = [(send: second.sends[0], result: WebhookTryResult(statusCode: 503, latencyMilliseconds: 1, responseExcerpt: nil, error: nil)),
                         (send: second.sends[1], result: WebhookTryResult(statusCode: 200, latencyMilliseconds: 1, responseExcerpt: nil, error: nil))]
            let recorded = try await webhooks.recordWebhookTries(
                tries, claim: second, schedule: WebhookRetrySchedule(delays: [60, 60]), disableAfterSeconds: 100, now: later)
            #expect(recorded.delivered == 1 && recorded.disabled.isEmpty)
            #expect(try await webhooks.webhook(projectID: project, id: hook.id)?.disabledAt == nil)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aReceiversAnswerIsStoredPrintableAndATryOfAnUnknownDeliveryDoesNotUndoTheOthers(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let (_, now) = try await Self.twoDueDeliveries(fixture)
            let claim = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            var bogus = try #require(claim.sends.first)
            bogus.deliveryID = "msg_gone"
            let recorded = try await webhooks.recordWebhookTries(
                Self.answered(claim.sends + [bogus], 200, excerpt: "fine\u{0}\u{1B}[0m"), claim: claim, schedule: Self.schedule, disableAfterSeconds: 600, now: now)
            #expect(recorded.delivered == 2)
            for send in claim.sends { #expect(try await Self.state(webhooks, send) == ("delivered", 1)) }
            let excerpts = try await webhooks.webhookDeliveries(subscriptionID: bogus.subscriptionID).flatMap(\.attempts).compactMap(\.responseExcerpt)
            #expect(excerpts == ["fine\u{FFFD}\u{FFFD}[0m", "fine\u{FFFD}\u{FFFD}[0m"])
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func aSubscriptionDeletedWhileItsBatchWasSentLeavesNothingToRecordAndNoError(_ kind: RepositoryKind) async throws {
        try await kind.withWebhookRepository { fixture in
            let webhooks = fixture.webhooks
            let (project, now) = try await Self.twoDueDeliveries(fixture)
            let claim = try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now)
            let send = try #require(claim.sends.first)
            // Given the subscription deleted (its deliveries with it) while the batch was out.
            #expect(try await webhooks.deleteWebhook(projectID: project, id: send.subscriptionID))
            // When the tries come back, failed and delivered alike, they are dropped: nothing throws, nothing is sent again.
            let tries = claim.sends.enumerated().map { index, send in
                (send: send, result: WebhookTryResult(statusCode: index == 0 ? 200 : 503, latencyMilliseconds: 1, responseExcerpt: nil, error: nil))
            }
            let recorded = try await webhooks.recordWebhookTries(tries, claim: claim, schedule: Self.schedule, disableAfterSeconds: 0, now: now)
            #expect(recorded.delivered == 0 && recorded.disabled.isEmpty)
            #expect(try await webhooks.webhookDeliveries(subscriptionID: send.subscriptionID).isEmpty)
            #expect(try await webhooks.claimWebhookDeliveries(limit: 10, lease: 30, now: now.addingTimeInterval(100)).sends.isEmpty)
        }
    }
}
