import Foundation
import Testing
import TrainyardServer

#if canImport(Glibc)
import Glibc
#endif

/// A stop, `max_run` and a spot reclaim notice reach training code written as users write it: a Python script that
/// installs its own SIGTERM handler and saves its checkpoint and model there. (`sh` with `trap` is no proof: dash
/// resets its signal mask, Python does not, so a command started with the agent's blocked signals never heard one.)
@Suite(.serialized) struct PythonSignalTests {
    /// A trainer that saves its checkpoint only when told to stop (SIGTERM), so that a resume past step 0 proves the
    /// notice reached it; it records where each attempt started, and writes its model on SIGTERM and at the end.
    static let trainer = #"""
        import json, os, signal, sys, time

        steps = int(os.environ.get("STEPS", "100000"))
        checkpoint_dir = os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
        model_dir = os.environ["SM_MODEL_DIR"]
        checkpoint = os.path.join(checkpoint_dir, "state.json")
        state = {"step": 0, "starts": []}
        if os.path.exists(checkpoint):
            with open(checkpoint) as handle:
                state = json.load(handle)
        state["starts"].append(state["step"])
        print(f"resumed from step {state['step']}", flush=True)


        def save(reason):
            os.makedirs(checkpoint_dir, exist_ok=True)
            with open(checkpoint + ".tmp", "w") as handle:
                json.dump(state, handle)
            os.replace(checkpoint + ".tmp", checkpoint)
            with open(os.path.join(model_dir, "model.json"), "w") as handle:
                json.dump(dict(state, saved_on=reason), handle)


        def on_sigterm(signum, frame):
            time.sleep(float(os.environ.get("SAVE_SECONDS", "0")))  # a real checkpoint takes a while to write
            save("SIGTERM")
            print(f"checkpoint saved on SIGTERM at step {state['step']}", flush=True)
            sys.exit(0)


        signal.signal(signal.SIGTERM, on_sigterm)
        with open("/proc/self/status") as status:
            print(" ".join(line.split()[0] + line.split()[1] for line in status if line.startswith("SigBlk")), flush=True)
        print("handler installed", flush=True)
        while state["step"] < steps:
            state["step"] += 1
            time.sleep(0.02)
        save("end")
        print(f"finished at step {state['step']}", flush=True)
        """#

    /// A job running ``trainer`` as `train.py` from a `file://` source directory (the SDK's entry point convention).
    static func job(_ app: LiveApp, _ name: String, count: Int = 1, extra: String = "") throws -> String {
        let code = app.dataDirectory + "/code-\(name)"
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try trainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
        return #"{"name":"\#(name)","instance_type":"ml.m5.large","instance_count":\#(count),"output_path":"s3://models/","entry_point":"train.py","source_dir":"file://\#(code)"\#(extra)}"#
    }

    /// Waits until every host of the job's current attempt printed `line`.
    static func waitForLine(_ app: LiveApp, _ name: String, _ line: String, hosts: Int = 1, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = try await app.allLogLines(name)
            let printed = Set(lines.filter { ($0["message"] as? String) == line }.compactMap { $0["host"] as? String })
            if printed.count >= hosts { return }
            guard ContinuousClock.now < deadline else { throw TestFailure("\(name): '\(line)' was not printed by \(hosts) host(s)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func model(_ app: LiveApp, _ job: [String: Any]) throws -> [String: Any] {
        let files = try app.unpack(try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)))
        let text = try #require(files["./model.json"] ?? files["model.json"], "the model has no model.json: \(files.keys.sorted())")
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// A stop grace long enough for a loaded machine: what is tested is that the handler runs, not how fast.
    static var patientWorkers: WorkerSettings {
        var settings = LiveApp.fastWorkers
        settings.stopGrace = 30
        return settings
    }

    @Test func aStopReachesThePythonHandlerWhichSavesItsCheckpointAndModel() async throws {
        try await LiveApp.run(workers: Self.patientWorkers) { app in
            try await app.submit(try Self.job(app, "py-stop", count: 2))
            try await Self.waitForLine(app, "py-stop", "handler installed", hosts: 2)
            // The command starts with nothing blocked.
            let lines = try await app.allLogLines("py-stop").compactMap { $0["message"] as? String }
            #expect(lines.filter { $0 == "SigBlk:0000000000000000" }.count == 2, "\(lines)")
            #expect(try await app.request(.POST, "/v1/jobs/py-stop/stop").0 == 202)
            let job = try await app.waitForStatus("py-stop", "Stopped")
            #expect(try Self.model(app, job)["saved_on"] as? String == "SIGTERM")
            let after = try await app.allLogLines("py-stop").compactMap { $0["message"] as? String }
            #expect(after.filter { $0.hasPrefix("checkpoint saved on SIGTERM") }.count == 2, "\(after)")
        }
    }

    @Test func aShellWrappingPythonDoesNotCutThePythonHandlersGraceShort() async throws {
        try await LiveApp.run(workers: Self.patientWorkers) { app in
            // given `sh -c "…; python3 train.py; …"`: the shell dies on SIGTERM at once, Python takes a second to save
            let code = app.dataDirectory + "/code-wrapped"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try Self.trainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            try "#!/bin/sh\necho wrapper; python3 train.py; echo after\n".write(toFile: code + "/wrap.sh", atomically: true, encoding: .utf8)
            try await app.submit(
                #"{"name":"wrapped","instance_type":"ml.m5.large","output_path":"s3://models/","environment":{"SAVE_SECONDS":"1"},"entry_point":"wrap.sh","source_dir":"file://\#(code)"}"#
            )
            try await Self.waitForLine(app, "wrapped", "handler installed")
            #expect(try await app.request(.POST, "/v1/jobs/wrapped/stop").0 == 202)
            // then the group keeps its whole grace, and the checkpoint is saved
            let job = try await app.waitForStatus("wrapped", "Stopped")
            #expect(try Self.model(app, job)["saved_on"] as? String == "SIGTERM")
        }
    }

    @Test func aScriptWithoutAShebangLineRunsWithTheShell() async throws {
        try await LiveApp.run { app in
            let code = app.dataDirectory + "/code-no-shebang"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try "echo \"ran without a shebang: $0\"\n".write(toFile: code + "/no-shebang.sh", atomically: true, encoding: .utf8)
            try await app.submit(
                #"{"name":"no-shebang","instance_type":"ml.m5.large","output_path":"s3://models/","entry_point":"no-shebang.sh","source_dir":"file://\#(code)"}"#)
            try await app.waitForStatus("no-shebang", "Completed")
            let lines = try await app.allLogLines("no-shebang").compactMap { $0["message"] as? String }
            #expect(lines.contains { $0.hasPrefix("ran without a shebang: ") && $0.hasSuffix("no-shebang.sh") }, "\(lines)")
        }
    }

    @Test func maxRunReachesThePythonHandlerBeforeTheKill() async throws {
        try await LiveApp.run(workers: Self.patientWorkers) { app in
            try await app.submit(try Self.job(app, "py-max-run", extra: #","max_run":3"#))
            let job = try await app.waitForStatus("py-max-run", "Stopped", timeout: .seconds(40))
            #expect(job["secondary_status"] as? String == "MaxRuntimeExceeded")
            #expect(try Self.model(app, job)["saved_on"] as? String == "SIGTERM")
        }
    }

    @Test func aSpotReclaimNoticeReachesThePythonHandlerAndTheJobResumesFromThatCheckpoint() async throws {
        try await LiveApp.run(workers: SpotTests.workers()) { app in
            try await app.submit(
                try Self.job(
                    app, "py-spot",
                    extra: #","use_spot_instances":true,"max_run":600,"max_wait":1200,"checkpoint_s3_uri":"s3://checkpoints/py-spot","environment":{"STEPS":"400"}"#
                ))
            let running = try await app.waitForSecondary("py-spot", "Training")
            try await Self.waitForLine(app, "py-spot", "handler installed")
            let host = try #require(SpotTests.liveHostID(running))
            #expect(try await app.request(.POST, "/v1/admin/hosts/\(host)/interrupt").0 == 202)
            let job = try await app.waitForStatus("py-spot", "Completed", timeout: .seconds(120))
            #expect((job["attempts"] as? [Any])?.count == 2)
            let model = try Self.model(app, job)
            // The second attempt started where the SIGTERM handler's checkpoint left the first: not from scratch.
            let starts = model["starts"] as? [Int] ?? []
            #expect(starts.count == 2 && starts[0] == 0 && starts[1] > 0, "starts \(starts)")
            let lines = try await app.allLogLines("py-spot").compactMap { $0["message"] as? String }
            #expect(lines.contains("checkpoint saved on SIGTERM at step \(starts.last ?? -1)"), "\(lines.filter { $0.hasPrefix("checkpoint") })")
            #expect(lines.contains("resumed from step \(starts.last ?? -1)"))
        }
    }

    @Test func theCommandStartsWithDefaultSignalDispositions() async throws {
        try await LiveApp.run(workers: SpotTests.workers()) { app in
            // A spot host's agent ignores SIGTERM itself (it handles the reclaim notice); its command must not inherit
            // that, nor the agent's ignored SIGPIPE (a shell pipeline's `head` would leave its writer spinning on EPIPE).
            try await app.submit(
                #"{"name":"dispositions","instance_type":"ml.m5.large","output_path":"s3://models/","use_spot_instances":true,"max_run":60,"max_wait":120,"command":["/bin/grep","-E","^Sig(Blk|Ign)","/proc/self/status"]}"#
            )
            try await app.waitForStatus("dispositions", "Completed")
            let lines = try await app.allLogLines("dispositions").compactMap { $0["message"] as? String }
            func mask(_ name: String) -> UInt64? {
                lines.first { $0.hasPrefix(name + ":") }.flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
            }
            #expect(mask("SigBlk") == 0, "\(lines)")
            // Signals 1-31 at their defaults. (glibc's posix_spawn leaves its own two internal real-time signals, 32
            // and 33, ignored in the child; glibc installs their handlers again when a program uses them.)
            #expect(mask("SigIgn").map { $0 & 0x7fff_ffff } == 0, "\(lines)")
        }
    }
}
