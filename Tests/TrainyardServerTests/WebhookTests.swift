import Foundation
import Testing
import TrainyardCore
import TrainyardServer

#if canImport(Glibc)
import Glibc
#endif

/// Webhooks end to end: real jobs, the real sender, real HTTP receivers that check signatures themselves.
@Suite(.serialized) struct WebhookTests {
    /// Creates a subscription; answers its id and secret.
    static func subscribe(_ baseURL: String, token: String, url: String, events: String = #"["*"]"#) async throws -> (id: String, secret: String) {
        let (status, body) = try await LiveHTTP.request(.POST, baseURL + "/v1/webhooks", token: token, json: #"{"url":"\#(url)","events":\#(events)}"#)
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        guard status == 201, let id = object["id"] as? String, let secret = object["secret"] as? String else {
            throw TestFailure("creating a webhook answered \(status): \(body)")
        }
        return (id, secret)
    }

    /// The events a job's history announces, in order: created, a status change per later transition, and its end.
    static func expectedTypes(_ job: [String: Any]) -> [String] {
        let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).count
        let end = ["Completed": "job.completed", "Failed": "job.failed", "Stopped": "job.stopped"][job["status"] as? String ?? ""]
        return ["job.created"] + Array(repeating: "job.status_changed", count: max(0, transitions - 1)) + (end.map { [$0] } ?? [])
    }

    @Test func everyJobEventArrivesSignedOnceAndInOrderAndOnlyWhereSubscribed() async throws {
        try await WebhookReceiver.run { all, allURL in
            try await WebhookReceiver.run { ends, endsURL in
                try await LiveApp.run { app in
                    let hook = try await Self.subscribe(app.baseURL, token: app.token, url: allURL)
                    all.trust(hook.secret)
                    let completedOnly = try await Self.subscribe(app.baseURL, token: app.token, url: endsURL, events: #"["job.completed"]"#)
                    ends.trust(completedOnly.secret)
                    try await app.submit(try WorkerTests.job(app, "hooked-ok", script: "true"))
                    try await app.submit(try WorkerTests.job(app, "hooked-fails", script: "exit 3"))
                    let jobs = [try await app.waitForStatus("hooked-ok", "Completed"), try await app.waitForStatus("hooked-fails", "Failed")]
                    let expected = jobs.map(Self.expectedTypes)
                    try await eventually("every delivery") { all.received.count >= expected.joined().count && ends.received.count >= 1 }

                    let received = all.received
                    #expect(received.count == expected.joined().count)
                    #expect(received.allSatisfy { $0.signatureValid }, "a signature did not verify")
                    #expect(Set(received.map(\.id)).count == received.count, "a webhook-id repeats")
                    for (job, types) in zip(jobs, expected) {
                        let name = job["name"] as? String ?? ""
                        let mine = received.filter { $0.data["job_name"] as? String == name }
                        #expect(mine.map(\.type) == types, "\(name): \(mine.map(\.type))")
                        // The status changes arrive in the order they happened.
                        let statuses = mine.filter { $0.type == "job.status_changed" }.compactMap { $0.data["secondary_status"] as? String }
                        let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
                        #expect(statuses == Array(transitions.dropFirst()))
                    }
                    #expect(ends.received.map(\.type) == ["job.completed"])
                    #expect(ends.received.first?.data["job_name"] as? String == "hooked-ok")
                    #expect(ends.received.allSatisfy { $0.signatureValid })

                    // The delivery log: every delivery delivered at its first try. A batch is recorded once its slowest
                    // try has ended, so the receiver may have them all a moment before the log does.
                    var status = 0
                    var deliveries: [[String: Any]] = []
                    let deadline = ContinuousClock.now + .seconds(30)
                    repeat {
                        let (code, log) = try await app.request(.GET, "/v1/webhooks/\(hook.id)/deliveries")
                        status = code
                        deliveries = log["deliveries"] as? [[String: Any]] ?? []
                        if deliveries.allSatisfy({ $0["status"] as? String != "pending" }) { break }
                        try await Task.sleep(for: .milliseconds(100))
                    } while ContinuousClock.now < deadline
                    #expect(status == 200)
                    #expect(deliveries.count == received.count)
                    #expect(deliveries.allSatisfy { $0["status"] as? String == "delivered" && ($0["attempts"] as? [Any])?.count == 1 })
                }
            }
        }
    }

    @Test func aFailingReceiverIsTriedAgainWithTheSameIDUntilItAnswers() async throws {
        try await WebhookReceiver.run { receiver, url in
            try await LiveApp.run { app in
                receiver.answer(with: [503, 503])
                let hook = try await Self.subscribe(app.baseURL, token: app.token, url: url, events: #"["job.created"]"#)
                receiver.trust(hook.secret)
                try await app.submit(try WorkerTests.job(app, "retried", script: "true"))
                try await eventually("three tries") { receiver.received.count >= 3 }
                let tries = receiver.received
                #expect(tries.map(\.answered) == [503, 503, 200])
                #expect(Set(tries.map(\.id)).count == 1 && tries.allSatisfy { $0.signatureValid })
                try await eventually("the log shows it delivered") {
                    let log = try await app.request(.GET, "/v1/webhooks/\(hook.id)/deliveries").1["deliveries"] as? [[String: Any]] ?? []
                    return log.first?["status"] as? String == "delivered"
                }
                let log = try await app.request(.GET, "/v1/webhooks/\(hook.id)/deliveries").1["deliveries"] as? [[String: Any]] ?? []
                let attempts = log.first?["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.compactMap { $0["status_code"] as? Int } == [503, 503, 200])
                #expect((attempts.first?["response_excerpt"] as? String)?.contains("answered 503") == true)

                // Sent again on request, with the same id.
                let delivery = try #require(log.first?["id"] as? String)
                #expect(try await app.request(.POST, "/v1/webhooks/\(hook.id)/deliveries/\(delivery)/redeliver").0 == 202)
                try await eventually("the redelivery") { receiver.received.count >= 4 }
                #expect(receiver.received.last?.id == delivery)
            }
        }
    }

    @Test func anotherProjectsSubscriptionNeverSeesThisProjectsJobs() async throws {
        try await WebhookReceiver.run { ours, oursURL in
            try await WebhookReceiver.run { theirs, theirsURL in
                try await LiveApp.run { app in
                    let (status, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"other-team"}"#)
                    #expect(status == 201)
                    let otherToken = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
                    _ = try await Self.subscribe(app.baseURL, token: otherToken, url: theirsURL)
                    ours.trust(try await Self.subscribe(app.baseURL, token: app.token, url: oursURL).secret)
                    try await app.submit(try WorkerTests.job(app, "private", script: "true"))
                    let job = try await app.waitForStatus("private", "Completed")
                    try await eventually("our deliveries") { ours.received.count >= Self.expectedTypes(job).count }
                    #expect(theirs.received.isEmpty)
                    // Nor can the other project read or delete ours.
                    let hooks = try await LiveHTTP.request(.GET, app.baseURL + "/v1/webhooks", token: otherToken).1
                    #expect(!hooks.contains(oursURL))
                }
            }
        }
    }

    @Test func aSubscriptionThatKeepsFailingIsDisabledAndCanBeEnabledAgain() async throws {
        let settings = WebhookSettings(
            schedule: WebhookRetrySchedule(delays: Array(repeating: 0.1, count: 50)), timeout: 2, disableAfter: 1, allowedNetworks: LiveApp.loopback)
        try await WebhookReceiver.run { receiver, url in
          try await WebhookReceiver.run { watcher, watcherURL in
            try await LiveApp.run(webhooks: settings) { app in
                receiver.answer(with: Array(repeating: 500, count: 1000))
                let hook = try await Self.subscribe(app.baseURL, token: app.token, url: url, events: #"["job.created"]"#)
                // Another subscription of the project hears of the disabling.
                watcher.trust(try await Self.subscribe(app.baseURL, token: app.token, url: watcherURL, events: #"["webhook.disabled"]"#).secret)
                try await app.submit(try WorkerTests.job(app, "unheard", script: "true"))
                try await eventually("the subscription is disabled") {
                    try await app.request(.GET, "/v1/webhooks/\(hook.id)").1["status"] as? String == "disabled"
                }
                let disabled = try await app.request(.GET, "/v1/webhooks/\(hook.id)").1
                #expect((disabled["disabled_reason"] as? String)?.contains("HTTP 500") == true)
                let triesWhenDisabled = receiver.received.count
                try await Task.sleep(for: .milliseconds(500))
                #expect(receiver.received.count == triesWhenDisabled, "a disabled subscription was still sent to")

                receiver.answer(with: [])
                let (status, enabled) = try await app.request(.PATCH, "/v1/webhooks/\(hook.id)", json: #"{"enabled":true}"#)
                #expect(status == 200 && enabled["status"] as? String == "active")
                try await eventually("the delivery after enabling") { receiver.received.last?.answered == 200 }

                try await eventually("the project is told") { !watcher.received.isEmpty }
                let told = try #require(watcher.received.first)
                #expect(watcher.received.count == 1 && told.type == "webhook.disabled" && told.signatureValid)
                #expect(told.data["webhook_id"] as? String == hook.id && told.data["url"] as? String == url)
                #expect(told.data["job_name"] as? String == "unheard" && (told.data["reason"] as? String)?.contains("HTTP 500") == true)
            }
          }
        }
    }

    @Test func badSubscriptionsAreRefusedNamingEveryField() async throws {
        try await LiveApp.run { app in
            let (status, problem) = try await app.request(
                .POST, "/v1/webhooks", json: #"{"url":"http://169.254.169.254/latest/meta-data","events":[],"secret":"not-a-secret"}"#)
            #expect(status == 422)
            let errors = problem["errors"] as? [[String: Any]] ?? []
            #expect(errors.compactMap { $0["field"] as? String } == ["url", "events", "secret"])
            #expect(errors.first?["rule"] as? String == "address")
            let unresolvable = try await app.request(.POST, "/v1/webhooks", json: #"{"url":"http://no-such-host.invalid/hook","events":["*"]}"#)
            #expect(unresolvable.0 == 422 && (unresolvable.1["errors"] as? [[String: Any]])?.first?["rule"] as? String == "resolvable")
            #expect(try await app.request(.POST, "/v1/webhooks", json: #"{"url":"ftp://127.0.0.1/x","events":["*"]}"#).0 == 422)
            #expect(try await app.request(.POST, "/v1/webhooks", json: #"{"url":"http://127.0.0.1/x","events":["job.exploded"]}"#).0 == 400)
            // Nothing refused was written.
            #expect((try await app.request(.GET, "/v1/webhooks").1["webhooks"] as? [Any])?.isEmpty == true)

            let viewer = try await app.request(.POST, "/v1/api-keys", json: #"{"role":"viewer"}"#).1["token"] as? String ?? ""
            let refused = try await LiveHTTP.request(.POST, app.baseURL + "/v1/webhooks", token: viewer, json: #"{"url":"http://127.0.0.1/x","events":["*"]}"#)
            #expect(refused.0 == 403)
            #expect(try await app.request(.DELETE, "/v1/webhooks/wh_nobody").0 == 404)
        }
    }

    @Test func aReceiverDownWhileTheServerIsKilledStillGetsEveryEventOnceBack() async throws {
        let dataDir = try ServeRestartTests.privateDataDirectory()
        defer {
            LiveApp.killWorkers(under: dataDir)
            try? FileManager.default.removeItem(atPath: (dataDir as NSString).deletingLastPathComponent)
        }
        let environment = [
            "TRAINYARD_WEBHOOK_RETRY_SCHEDULE": Array(repeating: "0.3", count: 60).joined(separator: ","), "TRAINYARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        ]
        let receiverPort = try LiveApp.freePort()
        let url = "http://127.0.0.1:\(receiverPort)/hook"
        // given a job whose events could not be delivered (nothing listens) when the server is killed
        let first = try ServeProcess(dataDirectory: dataDir, environment: environment)
        let port = try await first.waitForPort()
        let token = try String(contentsOfFile: dataDir + "/admin-key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let hook = try await Self.subscribe("http://127.0.0.1:\(port)", token: token, url: url)
        let (status, _) = try await LiveHTTP.request(
            .POST, "http://127.0.0.1:\(port)/v1/jobs", token: token, json: #"{"name":"unheard-of","instance_type":"ml.m5.large","command":["true"]}"#)
        #expect(status == 201)
        var job: [String: Any] = [:]
        try await eventually("the job ends") {
            let body = try await LiveHTTP.request(.GET, "http://127.0.0.1:\(port)/v1/jobs/unheard-of", token: token).1
            job = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
            return job["status"] as? String == "Completed"
        }
        try await eventually("a failed try") {
            let body = try await LiveHTTP.request(.GET, "http://127.0.0.1:\(port)/v1/webhooks/\(hook.id)/deliveries", token: token).1
            return body.contains("\"error\"")
        }
        first.signal(SIGKILL)
        _ = try await first.waitForExit()
        let expected = Self.expectedTypes(job)

        // when the receiver is back and so is the server
        try await WebhookReceiver.run(port: receiverPort) { receiver, _ in
            receiver.trust(hook.secret)
            let second = try ServeProcess(dataDirectory: dataDir, environment: environment)
            _ = try await second.waitForPort()
            // then every event arrives, each under one id, all signed
            try await eventually("every event") { receiver.received.count >= expected.count }
            try await Task.sleep(for: .milliseconds(600))
            let received = receiver.received
            #expect(received.map(\.type) == expected)
            #expect(Set(received.map(\.id)).count == received.count)
            #expect(received.allSatisfy { $0.signatureValid })
            second.signal(SIGTERM)
            _ = try await second.waitForExit()
        }
    }
}
