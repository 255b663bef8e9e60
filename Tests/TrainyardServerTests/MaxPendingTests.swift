import Foundation
import Testing

/// `max_pending` (SageMaker `MaxPendingTimeInSeconds`) through the service: a job that waits for capacity longer than
/// it allows is stopped and says why; a job that got its hosts in time is not stopped by it however long it runs.
@Suite(.serialized) struct MaxPendingTests {
    @Test func aJobThatWaitsForCapacityPastMaxPendingIsStoppedAndSaysWhy() async throws {
        try await LiveApp.run(workers: LiveApp.fastWorkers) { app in
            // given no on-demand capacity for its type
            let (status, _) = try await app.request(.PUT, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","on_demand":0}"#)
            #expect(status == 200)
            // when a job that may wait 3 s for capacity is submitted
            let submitted = Date()
            try await app.submit(try WorkerTests.job(app, "no-hosts", script: "echo never", extra: #","max_pending":3"#))
            // then it is stopped once 3 s have passed, with a message that names the limit, and no attempt ran
            let job = try await app.waitForStatus("no-hosts", "Stopped", timeout: .seconds(30))
            let elapsed = Date().timeIntervalSince(submitted)
            // (it waited Pending first: read from its transitions, as a poll can miss a 3 s state on a loaded machine)
            #expect((job["secondary_status_transitions"] as? [[String: Any]] ?? []).contains { $0["status"] as? String == "Pending" }, "\(job)")
            #expect(job["max_pending"] as? Int == 3)
            #expect(job["secondary_status"] as? String == "Stopped")
            let last = (job["secondary_status_transitions"] as? [[String: Any]])?.last
            #expect(
                last?["status_message"] as? String
                    == "Training job stopped: it waited for capacity longer than max_pending (MaxPendingTimeInSeconds)")
            #expect(elapsed >= 3 && elapsed < 15, "stopped after \(elapsed) s")
            #expect((job["attempts"] as? [[String: Any]] ?? []).isEmpty)
        }
    }

    @Test func aJobThatGotItsHostsInTimeRunsPastMaxPending() async throws {
        try await LiveApp.run(workers: LiveApp.fastWorkers) { app in
            // A job allowed 10 s of waiting trains for 12 s: the limit is on waiting, not on running. (10 s: a loaded
            // machine's scheduler may take a few seconds to give it its host; 2 s was too tight in the full suite.)
            let submitted = Date()
            try await app.submit(try WorkerTests.job(app, "in-time", script: "sleep 12; echo done", extra: #","max_pending":10"#))
            let job = try await app.waitForStatus("in-time", "Completed", timeout: .seconds(90))
            #expect(Date().timeIntervalSince(submitted) > 10)
            #expect(job["max_pending"] as? Int == 10)
            #expect((job["attempts"] as? [[String: Any]] ?? []).count == 1)
        }
    }
}
