import Foundation
import Logging
import Testing
import TrainyardCore
import TrainyardProvisioning
import TrainyardServer
import TrainyardTestSupport

/// Jobs on a real Slurm cluster (munged, slurmctld and four slurmd on this machine, started once per test
/// process), run by real agents that `srun` starts, end to end through HTTP.
@Suite(.serialized) struct SlurmTests {
    /// The Slurm provisioner on the test cluster; a clean cluster (no jobs, every node up) for each test.
    static func withSlurm(_ body: (TestSlurm.Cluster, ProvisionerSettings) async throws -> Void) async throws {
        let cluster = try await TestSlurm.shared.cluster()
        try await TestSlurm.reset(cluster)
        do {
            try await body(cluster, ProvisionerSettings(kind: .slurm, slurmConf: cluster.configurationFile))
        } catch {
            try? await TestSlurm.reset(cluster)
            throw error
        }
        try await TestSlurm.reset(cluster)
    }

    /// Slurm's jobs (any state) whose name starts with `name`: id, state, nodes in allocation order, comment.
    static func slurmJobs(_ cluster: TestSlurm.Cluster, named name: String) throws -> [(id: Int, state: String, nodes: [String], comment: String)] {
        let text = try TestSlurm.client(cluster, "squeue", ["--json"])
        let jobs = (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
        return jobs.filter { ($0["name"] as? String ?? "").hasPrefix(name) }.map { job in
            let allocated = (job["job_resources"] as? [String: Any])?["allocated_nodes"] as? [[String: Any]] ?? []
            return (job["job_id"] as? Int ?? 0, job["job_state"] as? String ?? "", allocated.compactMap { $0["nodename"] as? String },
                    job["comment"] as? String ?? "")
        }
    }

    static func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("never saw \(what) within \(timeout)")
    }

    static func file(_ files: [String: String], _ name: String) -> String? { files["./" + name] ?? files[name] }

    @Test func aTwoNodeJobRunsOneAgentPerNodeAndUploadsTheModel() async throws {
        try await Self.withSlurm { cluster, slurm in
            try await LiveApp.run(provisioner: slurm) { app in
                // given a 2-host job whose hosts record where Slurm ran them
                let script = #"echo "$SLURMD_NODENAME" > "$SM_MODEL_DIR/node-$SM_CURRENT_HOST"; echo "$SM_HOSTS" > "$SM_MODEL_DIR/hosts-$SM_CURRENT_HOST""#
                try await app.submit(try WorkerTests.job(app, "slurm-two", count: 2, script: script))
                // when it runs
                let job = try await app.waitForStatus("slurm-two", "Completed", timeout: .seconds(120))
                // then it went through every status (with a Pending detour when Slurm held it a moment, as the first
                // job after a cluster start often is), and the model holds both hosts' files
                var transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
                if let pending = transitions.firstIndex(of: "Pending"), transitions.dropFirst(pending + 1).first == "LaunchingMLInstances" {
                    transitions.removeSubrange(pending...(pending + 1))
                }
                #expect(transitions == ["Starting", "LaunchingMLInstances", "PreparingTrainingStack", "Downloading", "Training", "Uploading", "Completed"])
                let files = try app.unpack(try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)))
                let node1 = try #require(Self.file(files, "node-algo-1")).trimmingCharacters(in: .whitespacesAndNewlines)
                let node2 = try #require(Self.file(files, "node-algo-2")).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(Self.file(files, "hosts-algo-2") == #"["algo-1","algo-2"]"# + "\n")
                // and it was one Slurm job of two nodes, algo-1 on the first and algo-2 on the second
                let jobs = try Self.slurmJobs(cluster, named: "trainyard-slurm-two-")
                #expect(jobs.count == 1)
                #expect(jobs.first?.nodes == [node1, node2])
                #expect(jobs.first?.comment.hasPrefix("trainyard:attempt:") == true)
            }
        }
    }

    /// The `task-K.env` files under `directory`'s `attempt-*` directories (each holds a host's token).
    static func taskFiles(under directory: String) -> [String] {
        let attempts = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return attempts.filter { $0.hasPrefix("attempt-") }.flatMap { attempt in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(attempt)")) ?? []).filter { $0.hasPrefix("task-") }.map {
                "\(attempt)/\($0)"
            }
        }
    }

    @Test func anAttemptsTokenFilesGoWhenItEndsAndAReconciliationRemovesThoseOfAttemptsThatEndedMeanwhile() async throws {
        try await Self.withSlurm { cluster, slurm in
            try await LiveApp.run(provisioner: slurm) { app in
                // given a two-host job, whose hosts' tokens are in task files on the shared file system while it runs
                try await app.submit(try WorkerTests.job(app, "slurm-tokens", count: 2, script: "sleep 4"))
                _ = try await app.waitForSecondary("slurm-tokens", "Training", timeout: .seconds(120))
                #expect(Self.taskFiles(under: app.dataDirectory + "/slurm").count == 2)
                // when it ends
                _ = try await app.waitForStatus("slurm-tokens", "Completed", timeout: .seconds(120))
                // then the files go with the attempt
                try await Self.waitUntil("the task files to go", timeout: .seconds(30)) { Self.taskFiles(under: app.dataDirectory + "/slurm").isEmpty }
            }
            // given the files of an attempt that ended while the server was down, beside a live attempt's
            let state = try LiveApp.dataDirectory()
            defer { try? FileManager.default.removeItem(atPath: state) }
            for attempt in [41, 42] {
                try FileManager.default.createDirectory(atPath: "\(state)/attempt-\(attempt)", withIntermediateDirectories: true)
                try "TRAINYARD_AGENT_TOKEN='h.secret'\n".write(toFile: "\(state)/attempt-\(attempt)/task-0.env", atomically: true, encoding: .utf8)
                try "#!/bin/sh\n".write(toFile: "\(state)/attempt-\(attempt)/batch.sh", atomically: true, encoding: .utf8)
            }
            let provisioner = SlurmProvisioner(
                configuration: .init(
                    slurmConf: cluster.configurationFile, jobPrefix: "trainyard-tokens-test", stateDirectory: state, workersDirectory: state + "/workers",
                    agentExecutable: "/bin/true"),
                mapping: InstanceCatalog.standard.slurm, logger: Logger(label: "trainyard.tests.slurm"))
            // when the reconciler runs, with attempt 42 still live
            _ = try await provisioner.reconcile(live: { ids in ids.intersection([42]) })
            // then only the ended attempt's token file is gone
            #expect(Self.taskFiles(under: state) == ["attempt-42/task-0.env"])
            #expect(FileManager.default.fileExists(atPath: "\(state)/attempt-41/batch.sh"))
        }
    }

    @Test func aStopReachesThePythonHandlerOnEveryNodeAndTheModelIsStillUploaded() async throws {
        try await Self.withSlurm { cluster, slurm in
            try await LiveApp.run(provisioner: slurm) { app in
                // A Python trainer with its own SIGTERM handler (the command must start with nothing blocked on Slurm too)
                try await app.submit(try PythonSignalTests.job(app, "slurm-stop", count: 2))
                try await PythonSignalTests.waitForLine(app, "slurm-stop", "handler installed", hosts: 2, timeout: .seconds(120))
                let (status, _) = try await app.request(.POST, "/v1/jobs/slurm-stop/stop")
                #expect(status == 202)
                let job = try await app.waitForStatus("slurm-stop", "Stopped", timeout: .seconds(60))
                #expect(try PythonSignalTests.model(app, job)["saved_on"] as? String == "SIGTERM")
                let lines = try await app.allLogLines("slurm-stop").compactMap { $0["message"] as? String }
                #expect(lines.filter { $0.hasPrefix("checkpoint saved on SIGTERM") }.count == 2, "\(lines)")
                #expect(lines.filter { $0 == "SigBlk:0000000000000000" }.count == 2, "\(lines)")
                // and the Slurm job is over
                try await Self.waitUntil("the Slurm job to end") {
                    try Self.slurmJobs(cluster, named: "trainyard-slurm-stop-").allSatisfy { !["RUNNING", "PENDING", "COMPLETING"].contains($0.state) }
                }
            }
        }
    }

    @Test func aRefusedSbatchFailsTheJobAtOnceWithSlurmsOwnWords() async throws {
        try await Self.withSlurm { _, slurm in
            // given an instance type mapped to a generic resource the cluster does not know
            let capacity = #"{"default": {"slurm": {"partition": "debug", "gres": "bogus:1"}}}"#
            try await LiveApp.run(capacity: capacity, provisioner: slurm) { app in
                try await app.submit(try WorkerTests.job(app, "slurm-refused", script: "true"))
                // then the attempt ends with what sbatch said, not a launch lease later with a heartbeat message
                let job = try await app.waitForStatus("slurm-refused", "Failed")
                let reason = job["failure_reason"] as? String ?? ""
                #expect(reason.contains("sbatch") && reason.contains("Invalid generic resource"), "\(reason)")
                #expect(!reason.contains("heartbeat"), "\(reason)")
            }
        }
    }

    @Test func aStepWhoseAgentCannotStartFailsTheJobNamingTheAgent() async throws {
        try await Self.withSlurm { _, slurm in
            let missing = "/nonexistent/slurm-node/trainyard-agent"
            try await LiveApp.run(provisioner: slurm, agentExecutable: missing) { app in
                try await app.submit(try WorkerTests.job(app, "slurm-no-agent", count: 2, script: "true"))
                let job = try await app.waitForStatus("slurm-no-agent", "Failed", timeout: .seconds(120))
                let reason = job["failure_reason"] as? String ?? ""
                #expect(reason.contains(missing), "\(reason)")
                #expect(!reason.contains("heartbeat"), "\(reason)")
            }
        }
    }

    @Test func aSlurmPreemptionReachesThePythonHandlerAndTheJobResumesFromThatCheckpoint() async throws {
        try await Self.withSlurm { cluster, slurm in
            let capacity = #"{"default": {"slurm": {"partition": "debug", "spot_partition": "scavenger"}}}"#
            var workers = SpotTests.workers()
            workers.spotNotice = 4
            try await LiveApp.run(capacity: capacity, workers: workers, provisioner: slurm) { app in
                // given a Python trainer that checkpoints only when told to stop, training in the preemptible partition
                try await app.submit(
                    try PythonSignalTests.job(
                        app, "slurm-py-spot",
                        extra: #","use_spot_instances":true,"max_run":600,"max_wait":1200,"checkpoint_s3_uri":"s3://checkpoints/slurm-py-spot","environment":{"STEPS":"1500"}"#
                    ))
                try await PythonSignalTests.waitForLine(app, "slurm-py-spot", "handler installed", timeout: .seconds(120))
                // when urgent work of the default partition preempts it
                _ = try TestSlurm.client(
                    cluster, "sbatch", ["--parsable", "--exclusive", "-N4", "-p", "debug", "--job-name=urgent-work", "-o", "/dev/null", "--wrap", "sleep 4"])
                // then the handler's checkpoint is where the next attempt starts
                let job = try await app.waitForStatus("slurm-py-spot", "Completed", timeout: .seconds(180))
                let starts = try PythonSignalTests.model(app, job)["starts"] as? [Int] ?? []
                #expect(starts.count >= 2 && starts[0] == 0 && starts[1] > 0, "starts \(starts)")
                let lines = try await app.allLogLines("slurm-py-spot").compactMap { $0["message"] as? String }
                #expect(lines.contains("checkpoint saved on SIGTERM at step \(starts.count >= 2 ? starts[1] : -1)"), "\(lines.filter { $0.hasPrefix("checkpoint") })")
            }
        }
    }

    @Test func aPreemptedSpotJobIsASpotInterruptionAndResumesFromItsCheckpoint() async throws {
        try await Self.withSlurm { cluster, slurm in
            // given spot jobs in the preemptible scavenger partition, and a spot job training there
            let capacity = #"{"default": {"slurm": {"partition": "debug", "spot_partition": "scavenger"}}}"#
            var workers = SpotTests.workers()
            workers.spotNotice = 4
            try await LiveApp.run(capacity: capacity, workers: workers, provisioner: slurm) { app in
                try await app.submit(try SpotTests.spotJob(app, "slurm-spot", steps: 60))
                _ = try await app.waitForSecondary("slurm-spot", "Training", timeout: .seconds(120))
                try await SpotTests.waitForStoredStep(app, "slurm-spot", atLeast: 8)
                // when work of the default partition takes every node, Slurm preempts (and requeues) the spot job
                let preemptor = try TestSlurm.client(
                    cluster, "sbatch", ["--parsable", "--exclusive", "-N4", "-p", "debug", "--job-name=urgent-work", "-o", "/dev/null", "--wrap", "sleep 4"]
                ).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(!preemptor.isEmpty)
                // then the attempt ends Interrupted (no retry spent), the job waits for the scavenger nodes, and resumes
                // from its checkpoint once the urgent work is done
                let job = try await app.waitForStatus("slurm-spot", "Completed", timeout: .seconds(180))
                let attempts = job["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.count >= 2)
                #expect((attempts.first?["end_reason"] as? String)?.hasPrefix("Interrupted: CapacityError") == true, "\(attempts.first ?? [:])")
                let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
                #expect(transitions.contains("Interrupted") && transitions.contains("Restarting"))
                let files = try app.unpack(try #require((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String))
                let starts = (Self.file(files, "starts") ?? "").split(separator: "\n").compactMap { Int($0) }
                #expect(starts.count >= 2 && starts.first == 0 && (starts.dropFirst().first ?? 0) >= 8, "starts \(starts)")
                #expect(Self.file(files, "final-step") == "60\n")
            }
        }
    }

    @Test func aJobWaitsPendingWithSlurmsReasonWhileTheNodesAreBusy() async throws {
        try await Self.withSlurm { cluster, slurm in
            // given every node busy with other work
            let blocker = try TestSlurm.client(cluster, "sbatch", ["--parsable", "--exclusive", "-N4", "--job-name=other-work", "-o", "/dev/null", "--wrap", "sleep 300"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await Self.waitUntil("the other work to run") { try Self.slurmJobs(cluster, named: "other-work").first?.state == "RUNNING" }
            try await LiveApp.run(provisioner: slurm) { app in
                // when a job is submitted, it waits Pending with Slurm's reason
                try await app.submit(try WorkerTests.job(app, "slurm-wait", count: 2, script: "echo ran > \"$SM_MODEL_DIR/ran\""))
                let pending = try await app.waitForSecondary("slurm-wait", "Pending", timeout: .seconds(60))
                let messages = (pending["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status_message"] as? String }
                #expect(messages.contains { $0.hasPrefix("Slurm holds the job pending: ") && ($0.contains("Resources") || $0.contains("Priority")) })
                // and its hosts are not judged lost while it waits past the launch timeout's share of time
                // then once the nodes are free it runs to the end
                try TestSlurm.client(cluster, "scancel", [blocker])
                let job = try await app.waitForStatus("slurm-wait", "Completed", timeout: .seconds(120))
                #expect((job["attempts"] as? [Any])?.count == 1)
            }
        }
    }

    @Test func aNodeSetDownMidJobIsRetriedOnOtherNodesNamingTheNode() async throws {
        try await Self.withSlurm { cluster, slurm in
            try await LiveApp.run(provisioner: slurm) { app in
                // given a job allowed one retry whose first attempt trains until it is killed
                let script = #"case "$SM_MODEL_DIR" in *-1-algo-*) while :; do sleep 0.2; done;; esac; echo "$SLURMD_NODENAME" > "$SM_MODEL_DIR/node-$SM_CURRENT_HOST""#
                try await app.submit(try WorkerTests.job(app, "slurm-down", count: 2, script: script, extra: #","max_retry_attempts":1"#))
                try await app.waitForSecondary("slurm-down", "Training", timeout: .seconds(120))
                let first = try #require(try Self.slurmJobs(cluster, named: "trainyard-slurm-down-1").first)
                let down = try #require(first.nodes.last)
                // when algo-2's node is set down
                try TestSlurm.client(cluster, "scontrol", ["update", "nodename=\(down)", "state=down", "reason=disk-on-fire"])
                // then the job is retried on other nodes and completes
                let job = try await app.waitForStatus("slurm-down", "Completed", timeout: .seconds(120))
                let attempts = job["attempts"] as? [[String: Any]] ?? []
                #expect(attempts.count == 2)
                let reason = attempts.first?["end_reason"] as? String ?? ""
                #expect(reason.contains(down) && reason.contains("NODE_FAIL"), "end reason: \(reason)")
                let second = try #require(try Self.slurmJobs(cluster, named: "trainyard-slurm-down-2").first)
                #expect(!second.nodes.contains(down))
            }
        }
    }

    @Test func aServerRestartDuringASlurmJobLosesNothingAndCancelsOrphans() async throws {
        try await Self.withSlurm { cluster, slurm in
            try await LiveApp.restartable { database, directory, port in
                let mark = directory + "/go-on"
                // given a job training when the server goes away
                try await LiveApp.run(database: database, dataDirectory: directory, port: port, provisioner: slurm) { app in
                    let script = "while [ ! -e \(mark) ]; do sleep 0.2; done; echo trained > \"$SM_MODEL_DIR/model.txt\""
                    try await app.submit(try WorkerTests.job(app, "slurm-survivor", count: 2, script: script))
                    try await app.waitForSecondary("slurm-survivor", "Training", timeout: .seconds(120))
                }
                // and, while it is away, a Slurm job tagged as an attempt no one has
                let orphan = try TestSlurm.client(
                    cluster, "sbatch", ["--parsable", "--job-name=trainyard-ghost-1", "--comment=trainyard:attempt:987654", "-o", "/dev/null", "--wrap", "sleep 300"]
                ).trimmingCharacters(in: .whitespacesAndNewlines)
                // when it comes back on the same database and port
                try await LiveApp.run(database: database, dataDirectory: directory, port: port, provisioner: slurm) { app in
                    // then the orphan is cancelled
                    try await Self.waitUntil("the orphaned Slurm job to be cancelled") {
                        try Self.slurmJobs(cluster, named: "trainyard-ghost-").first { String($0.id) == orphan }?.state == "CANCELLED"
                    }
                    // and the job completes from the same attempt, started once
                    FileManager.default.createFile(atPath: mark, contents: nil)
                    let job = try await app.waitForStatus("slurm-survivor", "Completed", timeout: .seconds(120))
                    #expect((job["attempts"] as? [Any])?.count == 1)
                    #expect(try Self.slurmJobs(cluster, named: "trainyard-slurm-survivor-").count == 1)
                    let files = try app.unpack("s3://models/slurm-survivor/output/model.tar.gz")
                    #expect(files.values.contains("trained\n"))
                }
            }
        }
    }
}
