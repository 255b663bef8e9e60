import Foundation
import Testing
import TrainyardCore
import TrainyardServer

#if canImport(Glibc)
import Glibc
#endif

/// Managed spot and fault tolerance end to end, with real agents: interruptions resume from the last checkpoint,
/// max_wait ends waiting jobs on time, capacity comes and goes, and each failure class has its own budget.
@Suite(.serialized) struct SpotTests {
    /// Fast timing plus a 1 s spot notice and checkpoint syncs every 0.3 s.
    static func workers(market: SpotMarket = SpotMarket(interruptionsPerHostHour: 0, seed: 1)) -> WorkerSettings {
        var settings = LiveApp.fastWorkers
        settings.spotNotice = 1
        settings.checkpointSyncInterval = 0.3
        settings.spotMarket = market
        return settings
    }

    /// A training script that counts `steps` steps of 0.1 s, keeping the step in its checkpoint directory (written
    /// then renamed, as a real trainer saves), resuming from it, and recording where each attempt started.
    static let resumingScript = #"""
        ck="$SM_CHECKPOINT_DIR"; step=0
        [ -f "$ck/step" ] && step=$(cat "$ck/step")
        echo "resumed at $step"
        echo "$step" >> "$ck/starts"
        trap 'echo "SIGTERM at step $step"; exit 143' TERM
        while [ "$step" -lt "$STEPS" ]; do
          step=$((step + 1)); echo "$step" > "$ck/step.tmp"; mv "$ck/step.tmp" "$ck/step"; echo "step $step"; sleep 0.1
        done
        cp "$ck/starts" "$SM_MODEL_DIR/starts"; echo "$step" > "$SM_MODEL_DIR/final-step"
        """#

    static func spotJob(_ app: LiveApp, _ name: String, steps: Int, extra: String = "") throws -> String {
        try WorkerTests.job(
            app, name, script: resumingScript,
            extra: #","use_spot_instances":true,"max_run":600,"max_wait":1200,"checkpoint_s3_uri":"s3://checkpoints/\#(name)","environment":{"STEPS":"\#(steps)"}\#(extra)"#)
    }

    /// The step the job's checkpoint holds in the store.
    static func storedStep(_ app: LiveApp, _ name: String) -> Int {
        Int((try? String(contentsOfFile: app.objectPath("s3://checkpoints/\(name)/step"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    static func waitForStoredStep(_ app: LiveApp, _ name: String, atLeast step: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while Self.storedStep(app, name) < step {
            guard ContinuousClock.now < deadline else { throw TestFailure("\(name)'s checkpoint never reached step \(step)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func liveHostID(_ job: [String: Any]) -> String? {
        let attempts = job["attempts"] as? [[String: Any]] ?? []
        return (attempts.last?["hosts"] as? [[String: Any]])?.first?["id"] as? String
    }

    @Test func aSpotJobInterruptedTwiceResumesFromItsLastCheckpointEachTimeAndCompletes() async throws {
        try await LiveApp.run(workers: Self.workers()) { app in
            // given a spot job that checkpoints every step
            // 150 steps of 0.1 s: room for a reclaim that lands seconds late on a loaded machine (with 60, the second landed
            // after the last step and the attempt completed instead)
            try await app.submit(try Self.spotJob(app, "twice", steps: 150))
            var interruptedAt: [Int] = []
            for attempt in 1...2 {
                let running = try await app.waitFor("twice", "attempt \(attempt) training") {
                    ($0["attempts"] as? [[String: Any]])?.count == attempt && ($0["secondary_status"] as? String) == "Training"
                }
                try await Self.waitForStoredStep(app, "twice", atLeast: (interruptedAt.last ?? 0) + 8)
                // when its host is reclaimed
                let host = try #require(Self.liveHostID(running))
                let (status, body) = try await app.request(.POST, "/v1/admin/hosts/\(host)/interrupt")
                #expect(status == 202, "\(body)")
                // A second reclaim of the same host is refused: it has its notice, and its gang is stopping.
                let (again, refusal) = try await app.request(.POST, "/v1/admin/hosts/\(host)/interrupt")
                #expect(again == 409 && (refusal["detail"] as? String ?? "").contains("is not running (it is interrupted); only a live host can be reclaimed"), "\(refusal)")
                try await app.waitFor("twice", "attempt \(attempt) ended") {
                    (($0["attempts"] as? [[String: Any]])?[attempt - 1]["ended_at"]) != nil
                }
                interruptedAt.append(Self.storedStep(app, "twice"))
            }
            // then it completes on a third attempt, each one starting where the last checkpoint left it
            let job = try await app.waitForStatus("twice", "Completed", timeout: .seconds(120))
            let attempts = job["attempts"] as? [[String: Any]] ?? []
            #expect(attempts.count == 3)
            #expect(attempts.prefix(2).allSatisfy { ($0["end_reason"] as? String)?.hasPrefix("Interrupted: CapacityError") == true })
            #expect((attempts.first?["hosts"] as? [[String: Any]])?.first?["state"] as? String == "interrupted")
            #expect((attempts.last?["hosts"] as? [[String: Any]])?.first?["last_checkpoint_sync_time"] != nil)
            let files = try app.unpack(try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)))
            let starts = (files["./starts"] ?? files["starts"] ?? "").split(separator: "\n").compactMap { Int($0) }
            #expect(starts.count == 3 && starts.first == 0)
            // the final sync within the notice saved the step the script reached when it was told to stop
            #expect(Array(starts.dropFirst()) == interruptedAt, "starts \(starts), interrupted at \(interruptedAt)")
            #expect((files["./final-step"] ?? files["final-step"]) == "150\n")
            let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            #expect(transitions.filter { $0 == "Interrupted" }.count == 2)
            #expect(transitions.filter { $0 == "Restarting" }.count == 2)
            // and the spot savings are what the prices give (0.3 / 1.0 by default)
            let training = try #require(job["training_time_seconds"] as? Int)
            let billable = try #require(job["billable_time_seconds"] as? Int)
            #expect(billable < training || training == 0)
            if training > 0 { #expect(job["spot_savings_percent"] as? Double ?? 0 > 50) }
            // and its goodput: two reclaims, each recovered; what was lost is the work since each last checkpoint sync
            // (they ran every 0.3 s, and the notice's final sync saved the step reached), well under its training
            let goodput = try #require(job["goodput"] as? [String: Any])
            #expect(goodput["faults"] as? [String: Int] == ["spot_reclaim": 2, "host_lost": 0, "user_error": 0, "stop": 0])
            #expect(goodput["auto_recoveries"] as? Int == 2)
            let trained = try #require(goodput["training_seconds"] as? Double)
            let lost = try #require(goodput["lost_seconds"] as? Double)
            #expect(trained >= 15 && lost < 5 && abs((goodput["productive_seconds"] as? Double ?? 0) - (trained - lost)) < 0.2, "\(goodput)")
            let recovery = try #require(goodput["recovery_seconds"] as? Double)
            #expect(recovery > 0 && abs((goodput["mean_recovery_seconds"] as? Double ?? 0) - recovery / 2) < 0.11, "\(goodput)")
            #expect((goodput["uptime_percent"] as? Double ?? 101) < 100, "\(goodput)")
            // and /metrics counts the same for the project, once every attempt has been counted
            try await eventually("the last attempt counted") {
                try await MonitoringTests.scrape(app).value("trainyard_goodput_training_seconds_total", ["project": "default"]) ?? 0 >= trained - 0.2
            }
            let page = try await MonitoringTests.scrape(app)
            let project = ["project": "default"]
            #expect(page.value("trainyard_goodput_faults_total", ["project": "default", "class": "spot_reclaim"]) == 2)
            #expect(page.value("trainyard_goodput_recoveries_total", project) == 2)
            #expect(abs((page.value("trainyard_goodput_recovery_seconds_total", project) ?? 0) - recovery) < 0.2, "\(page.samples)")
            #expect(abs((page.value("trainyard_goodput_lost_seconds_total", project) ?? -1) - lost) < 0.2, "\(page.samples)")
        }
    }

    /// A host's reference records its worker directory; with a space in the data directory's path it was read back cut
    /// at the space, and the notice (and a lost host's SIGKILL) went to no process.
    @Test func theReclaimNoticeReachesTheAgentOfADataDirectoryWithSpacesInItsPath() async throws {
        let spaced = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard live \(UUID().uuidString)/data dir").path
        try FileManager.default.createDirectory(atPath: spaced, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer {
            // A data directory of the test's own: LiveApp leaves its workers alone (the agent, its command ignoring
            // SIGTERM, would outlive the test and every suite after it).
            LiveApp.killWorkers(under: spaced)
            try? FileManager.default.removeItem(atPath: (spaced as NSString).deletingLastPathComponent)
        }
        try await LiveApp.run(dataDirectory: spaced, workers: Self.workers()) { app in
            // A command that ignores SIGTERM: its agent lives on through the notice's grace, long enough to be read.
            try await app.submit(
                try WorkerTests.job(app, "spaced", script: "trap '' TERM; echo ready; sleep 60", extra: #","use_spot_instances":true,"max_run":600,"max_wait":1200"#))
            let running = try await app.waitForSecondary("spaced", "Training")
            let host = try #require(Self.liveHostID(running))
            let agentLog = "\(spaced)/workers/\(host)/agent.log"
            let (status, body) = try await app.request(.POST, "/v1/admin/hosts/\(host)/interrupt")
            #expect(status == 202, "\(body)")
            let deadline = ContinuousClock.now + .seconds(20)
            var log = ""
            while !log.contains("reclaim notice: this host is being taken away"), ContinuousClock.now < deadline {
                log = (try? String(contentsOfFile: agentLog, encoding: .utf8)) ?? log
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(log.contains("reclaim notice: this host is being taken away"), "the agent never got SIGTERM: \(log.suffix(2000))")
        }
    }

    @Test func aSpotJobWithNoSpotCapacityEndsWithMaxWaitTimeExceededOnTime() async throws {
        try await LiveApp.run(workers: Self.workers()) { app in
            // given no spot capacity at all
            let (status, capacity) = try await app.request(.PUT, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","spot":0}"#)
            #expect(status == 200)
            #expect((capacity["capacity"] as? [String: Int])?["spot"] == 0)
            // when a spot job with a 4 s max_wait is submitted
            try await app.submit(
                try WorkerTests.job(app, "no-spot", script: "sleep 1", extra: #","use_spot_instances":true,"max_run":3,"max_wait":4"#))
            // then it waits, saying why, and is stopped with MaxWaitTimeExceeded once max_wait has passed, not long
            // after. Read from the job's own record: a poll can miss a 4 s Pending on a loaded machine.
            let job = try await app.waitForStatus("no-spot", "Stopped", timeout: .seconds(30))
            #expect(job["secondary_status"] as? String == "MaxWaitTimeExceeded")
            let transitions = job["secondary_status_transitions"] as? [[String: Any]] ?? []
            let pending = try #require(transitions.last { $0["status"] as? String == "Pending" }, "\(transitions)")
            #expect(pending["status_message"] as? String == "Waiting for 1 spot ml.m5.large host(s): 0 of 0 free")
            let stopped = try #require(transitions.last { $0["status"] as? String == "MaxWaitTimeExceeded" }, "\(transitions)")
            let created = try #require(WarmPoolServiceTests.parse(job["creation_time"] as? String))
            let ended = try #require(WarmPoolServiceTests.parse(stopped["start_time"] as? String))
            let elapsed = ended.timeIntervalSince(created)
            #expect(elapsed >= 4 && elapsed < 12, "ended \(elapsed) s after it was created")
            #expect((job["attempts"] as? [[String: Any]] ?? []).isEmpty)
        }
    }

    @Test func cuttingSpotCapacityReclaimsARunningHostAndTheJobRestartsWhenItReturns() async throws {
        try await LiveApp.run(workers: Self.workers()) { app in
            try await app.submit(try Self.spotJob(app, "cut", steps: 40))
            _ = try await app.waitForSecondary("cut", "Training")
            try await Self.waitForStoredStep(app, "cut", atLeast: 5)
            // when spot capacity is taken away, the running host is reclaimed and the job waits for capacity
            _ = try await app.request(.PUT, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","spot":0}"#)
            let waiting = try await app.waitForSecondary("cut", "Pending")
            #expect((waiting["attempts"] as? [[String: Any]])?.first?["end_reason"] as? String == "Interrupted: CapacityError: spot capacity reclaimed host algo-1")
            let (_, types) = try await app.request(.GET, "/v1/instance-types")
            let m5 = (types["instance_types"] as? [[String: Any]])?.first { $0["name"] as? String == "ml.m5.large" }
            #expect((m5?["capacity"] as? [String: Int])?["spot"] == 0)
            // and once capacity returns it restarts from its checkpoint and completes
            _ = try await app.request(.PUT, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","spot":2}"#)
            let job = try await app.waitForStatus("cut", "Completed", timeout: .seconds(90))
            let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            let afterInterruption = Array(transitions.drop { $0 != "Interrupted" }.prefix(4))
            #expect(afterInterruption == ["Interrupted", "Pending", "Restarting", "LaunchingMLInstances"])
            let files = try app.unpack(try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)))
            #expect((files["./starts"] ?? files["starts"] ?? "").split(separator: "\n").count == 2)
        }
    }

    @Test func theAdminCallsCheckTheirInputAndWhoMayUseThem() async throws {
        try await LiveApp.run(workers: Self.workers()) { app in
            let (status, problem) = try await app.request(.PUT, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.larg","spot":-1}"#)
            #expect(status == 422)
            let rules = Set((problem["errors"] as? [[String: Any]] ?? []).map { "\($0["field"] ?? "")/\($0["rule"] ?? "")" })
            #expect(rules == ["instance_type/catalog", "spot/minimum"])
            #expect(try await app.request(.POST, "/v1/admin/hosts/no-such-host/interrupt").0 == 404)
            // a host that has ended cannot be reclaimed
            try await app.submit(try WorkerTests.job(app, "short", script: "true"))
            let done = try await app.waitForStatus("short", "Completed")
            #expect(try await app.request(.POST, "/v1/admin/hosts/\(try #require(Self.liveHostID(done)))/interrupt").0 == 409)
            // another project's admin neither sees this project's host nor sets the pool's capacity
            let (_, project) = try await app.request(.POST, "/v1/projects", json: #"{"name":"other-team"}"#)
            let other = try #require((project["api_key"] as? [String: Any])?["token"] as? String)
            let (capacityStatus, _) = try await LiveHTTP.request(.PUT, app.baseURL + "/v1/admin/capacity", token: other, json: #"{"instance_type":"ml.m5.large","spot":1}"#)
            #expect(capacityStatus == 403)
            let (hostStatus, _) = try await LiveHTTP.request(.POST, app.baseURL + "/v1/admin/hosts/\(try #require(Self.liveHostID(done)))/interrupt", token: other)
            #expect(hostStatus == 404)
        }
    }

    @Test func aSecondKilledAgentPastMaxRetryAttemptsFailsTheJobNamingTheHost() async throws {
        try await LiveApp.run(workers: Self.workers()) { app in
            try await app.submit(try WorkerTests.job(app, "twice-dead", script: "sleep 30", extra: #","max_retry_attempts":1"#))
            for attempt in 1...2 {
                _ = try await app.waitFor("twice-dead", "attempt \(attempt) training") {
                    ($0["attempts"] as? [[String: Any]])?.count == attempt && ($0["secondary_status"] as? String) == "Training"
                }
                kill(try app.agentPID(job: "twice-dead", attempt: attempt, host: "algo-1"), SIGKILL)
            }
            let job = try await app.waitForStatus("twice-dead", "Failed")
            let reason = try #require(job["failure_reason"] as? String)
            // Known at once from the agent's exit (this server started it), not a lease later.
            #expect(reason.hasPrefix("InternalServerError: host algo-1 (twice-dead-2-algo-1-j"), "\(reason)")
            #expect(reason.contains("its worker agent") && reason.contains("was killed by signal 9"), "\(reason)")
            #expect(reason.hasSuffix("(after 1 retries, max_retry_attempts)"))
            #expect((job["attempts"] as? [[String: Any]])?.count == 2)
            // the first loss was recovered by the retry, the second was not
            let goodput = try #require(job["goodput"] as? [String: Any])
            #expect(goodput["faults"] as? [String: Int] == ["spot_reclaim": 0, "host_lost": 2, "user_error": 0, "stop": 0], "\(goodput)")
            #expect(goodput["auto_recoveries"] as? Int == 1 && (goodput["productive_seconds"] as? Double) == 0, "\(goodput)")
        }
    }

    @Test func underASeededRandomInterruptionRateEveryJobEndsAndNoneIsStuck() async throws {
        // A mean of one reclaim every 4 s per spot host, against jobs needing about 4 s of training each.
        let market = SpotMarket(interruptionsPerHostHour: 900, seed: 2026)
        try await LiveApp.run(workers: Self.workers(market: market)) { app in
            let names = (1...6).map { "random-\($0)" }
            for name in names { try await app.submit(try Self.spotJob(app, name, steps: 40)) }
            var interrupted = 0
            for name in names {
                let job = try await app.waitFor(name, timeout: .seconds(240), "an end") { ["Completed", "Stopped", "Failed"].contains($0["status"] as? String ?? "") }
                // every job ends by its own work or its limits, never by a failure the interruptions caused
                #expect(job["status"] as? String == "Completed", "\(name): \(job["status"] ?? "-") \(job["failure_reason"] ?? "")")
                interrupted += (job["attempts"] as? [[String: Any]] ?? []).filter { ($0["end_reason"] as? String)?.hasPrefix("Interrupted") == true }.count
            }
            #expect(interrupted > 0, "the market never reclaimed a host")
        }
    }
}
