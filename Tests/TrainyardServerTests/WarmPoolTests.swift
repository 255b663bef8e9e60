import Foundation
import Testing

/// Warm pools (`keep_alive_period`, SageMaker managed warm pools) through the service, with real workers: a job that
/// ends keeps its hosts; the next matching job of its project, and only of its project, takes them over without waiting;
/// meanwhile they are capacity no one else gets, until the pool's period ends.
@Suite(.serialized) struct WarmPoolServiceTests {
    /// A Python training script as users write them: its own SIGTERM handler, a model file, a print of bytes that are
    /// no text.
    static let script = #"""
        import os, signal, sys
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        sys.stdout.buffer.write(b"trained " + os.environ["TRAINING_JOB_NAME"].encode() + b" \xff\x00 done\n")
        sys.stdout.flush()
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as model:
            model.write("weights")
        """#

    static func spec(_ name: String, code: String, keepAlive: Int, outputPath: Bool = true) -> String {
        #"{"name":"\#(name)","instance_type":"ml.m5.large","instance_count":1,"entry_point":"train.py","source_dir":"file://\#(code)","keep_alive_period":\#(keepAlive)\#(outputPath ? #","output_path":"s3://models/""# : "")}"#
    }

    static func pool(_ job: [String: Any]) -> [String: Any] { job["warm_pool_status"] as? [String: Any] ?? [:] }

    static func parse(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    @Test func aKeptPoolGoesToTheNextMatchingJobOfItsProjectOnlyAndHoldsItsHostsFromEveryoneElseUntilItEnds() async throws {
        try await LiveApp.run(workers: LiveApp.fastWorkers) { app in
            // Given one on-demand ml.m5.large host, and code both projects may read.
            let (capacity, _) = try await app.request(.PUT, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","on_demand":1}"#)
            #expect(capacity == 200)
            let code = app.dataDirectory + "/code-warm"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try Self.script.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"team-b"}"#)
            let tokenB = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            let (granted, _) = try await app.request(
                .PUT, "/v1/projects/team-b/locations", json: #"{"locations":[{"uri":"file://\#(code)","access":"read"}]}"#)
            #expect(granted == 200)

            // When a job with keep_alive_period ends, its pool is kept until the period ends.
            try await app.submit(Self.spec("first", code: code, keepAlive: 600))
            let first = try await app.waitForStatus("first", "Completed")
            #expect(Self.pool(first)["status"] as? String == "Available", "\(first)")
            let ended = try #require(Self.parse((first["attempts"] as? [[String: Any]])?.last?["ended_at"] as? String))
            let expiry = try #require(Self.parse(Self.pool(first)["expires_at"] as? String), "\(Self.pool(first))")
            #expect(abs(expiry.timeIntervalSince(ended) - 600) < 5, "\(ended) → \(expiry)")
            // The kept host is neither in use nor free: /metrics counts it apart.
            let pool = ["instance_type": "ml.m5.large", "market": "on_demand"]
            let metrics = try await MonitoringTests.scrape(app)
            #expect(metrics.value("trainyard_capacity_warm", pool) == 1 && metrics.value("trainyard_capacity_in_use", pool) == 0
                && metrics.value("trainyard_capacity_free", pool) == 0)
            let listed = try await app.request(.GET, "/v1/jobs?warm_pool_status=Available").1["jobs"] as? [[String: Any]] ?? []
            #expect(listed.map { $0["name"] as? String } == ["first"] && Self.pool(listed[0])["status"] as? String == "Available", "\(listed)")
            let listedB = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs?warm_pool_status=Available", token: tokenB).1
            #expect(listedB.contains(#""jobs":[]"#), "another project lists none of it: \(listedB)")

            // Then another project's matching job, of the name the first project uses next, waits: the host is kept.
            let (submittedB, answerB) = try await LiveHTTP.request(
                .POST, app.baseURL + "/v1/jobs", token: tokenB, json: Self.spec("next", code: code, keepAlive: 600, outputPath: false))
            #expect(submittedB == 201, "\(answerB)")
            var waitingB: [String: Any] = [:]
            try await eventually("team-b's next says it waits for the kept host", timeout: .seconds(30)) {
                let body = try await LiveHTTP.request(.GET, app.baseURL + "/v1/jobs/next", token: tokenB).1
                waitingB = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
                return waitingB["secondary_status"] as? String == "Pending"
            }
            let message = (waitingB["secondary_status_transitions"] as? [[String: Any]])?.last?["status_message"] as? String ?? ""
            #expect(message == "Waiting for 1 on-demand ml.m5.large host(s): 0 of 1 free (1 kept in warm pools for the jobs that match them)")

            // And the first project's own matching job takes the pool over at once, ahead of it, and keeps it 3 s in turn.
            try await app.submit(Self.spec("next", code: code, keepAlive: 3))
            let next = try await app.waitForStatus("next", "Completed")
            let reused = Self.pool(try await app.request(.GET, "/v1/jobs/first").1)
            #expect(reused["status"] as? String == "Reused" && reused["reused_by_job"] as? String == "next", "\(reused)")
            #expect((reused["resource_retained_billable_time_in_seconds"] as? Int ?? -1) >= 0)
            let events = try await app.request(.GET, "/v1/jobs/next/events").1["events"] as? [[String: Any]] ?? []
            #expect(
                events.contains {
                    $0["type"] as? String == "warm_pool_reused"
                        && $0["message"] as? String == "Starting on the warm pool training job first kept (1 ml.m5.large host(s)), without waiting in the queue"
                }, "\(events)")
            let firstEvents = try await app.request(.GET, "/v1/jobs/first/events").1["events"] as? [[String: Any]] ?? []
            #expect(firstEvents.last?["message"] as? String == "Warm pool reused: training job next took over the hosts this job kept")
            #expect(try await app.allLogLines("next").compactMap { $0["message"] as? String }.first?.hasPrefix("trained next ") == true)

            // Once its 3 s are over, the pool ends and the waiting job of the other project gets the host.
            // (The pool's end is its job's end plus 3 s: read from the attempt, since on a loaded machine the 3 s may be
            // over, and the description's `expires_at` gone, by the time the test reads it.)
            let nextEnded = try #require(Self.parse((next["attempts"] as? [[String: Any]])?.last?["ended_at"] as? String), "\(next)")
            let nextExpiry = nextEnded.addingTimeInterval(3)
            let ranB = try await SharedJobNameTests.waitForStatus(app, token: tokenB, "next", "Completed", timeout: .seconds(60))
            let startedB = try #require(Self.parse((ranB["attempts"] as? [[String: Any]])?.first?["started_at"] as? String))
            #expect(startedB >= nextExpiry.addingTimeInterval(-0.5), "team-b's job started at \(startedB), before the pool's end at \(nextExpiry)")
            let endedPool = Self.pool(try await app.request(.GET, "/v1/jobs/next").1)
            #expect(endedPool["status"] as? String == "Terminated" && endedPool["resource_retained_billable_time_in_seconds"] as? Int == 3, "\(endedPool)")
            // team-b's job keeps its own pool, which the first project cannot see or take, and ends it with its own
            // update: the first project's job of that name is left as it was.
            #expect(Self.pool(ranB)["status"] as? String == "Available")
            let (patched, patchedB) = try await LiveHTTP.request(
                .PATCH, app.baseURL + "/v1/jobs/next", token: tokenB, json: #"{"keep_alive_period":0}"#)
            #expect(patched == 200 && patchedB.contains(#""keep_alive_period":0"#) && patchedB.contains(#""status":"Terminated""#), "\(patchedB)")
            #expect(try await app.request(.GET, "/v1/jobs/next").1["keep_alive_period"] as? Int == 3)
            // A viewer's key may not change it.
            let (_, viewer) = try await app.request(.POST, "/v1/api-keys", json: #"{"role":"viewer","name":"ro"}"#)
            let viewerToken = try #require(viewer["token"] as? String, "\(viewer)")
            let (refused, _) = try await LiveHTTP.request(.PATCH, app.baseURL + "/v1/jobs/next", token: viewerToken, json: #"{"keep_alive_period":0}"#)
            #expect(refused == 403)
        }
    }
}
