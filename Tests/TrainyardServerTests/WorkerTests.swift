import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Jobs run by real `trainyard-agent` processes on the local provisioner, end to end through HTTP.
@Suite(.serialized) struct WorkerTests {
    /// A job whose hosts run `script` with /bin/sh, shipped as `run.sh` in a `file://` source directory (as
    /// `entry_point` + `source_dir`, the SDK's way).
    static func job(_ app: LiveApp, _ name: String, count: Int = 1, script: String, extra: String = "") throws -> String {
        let code = app.dataDirectory + "/code-\(name)"
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try ("#!/bin/sh\n" + script + "\n").write(toFile: code + "/run.sh", atomically: true, encoding: .utf8)
        return #"{"name":"\#(name)","instance_type":"ml.m5.large","instance_count":\#(count),"output_path":"s3://models/","entry_point":"run.sh","source_dir":"file://\#(code)"\#(extra)}"#
    }

    @Test func aTwoHostJobRunsTheContractAndMergesTheModel() async throws {
        try await LiveApp.run { app in
            // Input channels: a filesystem-store prefix and a file:// directory, sharded and replicated.
            let data = app.dataDirectory + "/objects/datasets/mnist/train"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            for index in 0..<4 { try "sample \(index)".write(toFile: "\(data)/part-\(index).txt", atomically: true, encoding: .utf8) }
            let local = app.dataDirectory + "/local-config"
            try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
            try "lr=0.1".write(toFile: local + "/settings.ini", atomically: true, encoding: .utf8)
            let script = """
                set -e
                d="$SM_MODEL_DIR"
                env | grep -E '^(SM_|TRAINING_JOB|MASTER_|WORLD_SIZE|NODE_RANK)' | sort > "$d/env-$SM_CURRENT_HOST"
                cp /opt/ml/input/config/resourceconfig.json "$d/resourceconfig-$SM_CURRENT_HOST.json"
                cp "$SM_INPUT_CONFIG_DIR/hyperparameters.json" "$d/hyperparameters-$SM_CURRENT_HOST.json"
                cp "$SM_INPUT_CONFIG_DIR/inputdataconfig.json" "$d/inputdataconfig.json"
                ls "$SM_CHANNEL_TRAIN" | sort > "$d/train-$SM_CURRENT_HOST"
                cat "$SM_CHANNEL_CONFIG/settings.ini" > "$d/config-$SM_CURRENT_HOST"
                getent hosts algo-2 > "$d/resolve-$SM_CURRENT_HOST" || echo unresolved > "$d/resolve-$SM_CURRENT_HOST"
                echo "$SM_CURRENT_HOST" > "$d/clash.txt"
                echo "data from $SM_CURRENT_HOST" > "$SM_OUTPUT_DATA_DIR/out-$SM_CURRENT_HOST"
                """
            let extra = #","hyperparameters":{"epochs":"3","name":"\"quoted\""},"distribution":{"torch_distributed":{"enabled":true}},"inputs":{"train":{"s3_uri":"s3://datasets/mnist/train","distribution":"ShardedByS3Key"},"config":"file://\#(local)"}"#
            // A command (not an entry point) keeps torch_distributed from wrapping it in torchrun, which is not installed here.
            // The script travels in the config channel: a command reads only what was staged for it.
            try ("#!/bin/sh\n" + script + "\n").write(toFile: local + "/run.sh", atomically: true, encoding: .utf8)
            let body = try Self.job(app, "contract", count: 2, script: script, extra: extra)
                .replacingOccurrences(of: #""entry_point":"run.sh","source_dir":"file://\#(app.dataDirectory)/code-contract""#,
                                      with: #""command":["/bin/sh","/opt/ml/input/data/config/run.sh"]"#)
            try await app.submit(body)
            let job = try await app.waitForStatus("contract", "Completed")

            // Every secondary status, in order.
            let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
            #expect(transitions == ["Starting", "LaunchingMLInstances", "PreparingTrainingStack", "Downloading", "Training", "Uploading", "Completed"])
            let model = try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String))
            #expect(model == "s3://models/contract/output/model.tar.gz")
            let attempts = job["attempts"] as? [[String: Any]] ?? []
            #expect(attempts.count == 1)
            #expect((attempts.first?["hosts"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["algo-1", "algo-2"])
            #expect(job["training_time_seconds"] as? Int != nil && job["training_end_time"] != nil)

            let files = try app.unpack(model)
            // The lowest-numbered host wins a name clash.
            #expect(files["./clash.txt"] ?? files["clash.txt"] == "algo-1\n")
            let env2 = try #require(files["./env-algo-2"] ?? files["env-algo-2"])
            for expected in [
                #"SM_HOSTS=["algo-1","algo-2"]"#, "SM_CURRENT_HOST=algo-2", "SM_CURRENT_HOST_RANK=1", "SM_NUM_CPUS=2", "SM_NUM_GPUS=0",
                "SM_CHANNEL_TRAIN=/opt/ml/input/data/train", #"SM_CHANNELS=["config","train"]"#, "SM_HP_EPOCHS=3", "SM_MODEL_DIR=/opt/ml/model",
                "SM_CHECKPOINT_DIR=/opt/ml/checkpoints", "TRAINING_JOB_NAME=contract",
                "TRAINING_JOB_ARN=arn:aws:sagemaker:local:000000000001:training-job/contract", "MASTER_ADDR=algo-1", "WORLD_SIZE=2", "NODE_RANK=1",
            ] {
                #expect(env2.contains(expected + "\n"), "algo-2 lacks \(expected)")
            }
            let resource = try #require(files["./resourceconfig-algo-2.json"] ?? files["resourceconfig-algo-2.json"])
            let parsed = try JSONSerialization.jsonObject(with: Data(resource.utf8)) as? [String: Any]
            #expect(parsed?["current_host"] as? String == "algo-2")
            #expect(parsed?["hosts"] as? [String] == ["algo-1", "algo-2"])
            #expect(parsed?["network_interface_name"] as? String == "eth0")
            // Hyperparameters verbatim, never re-encoded.
            let hyperparameters = try #require(files["./hyperparameters-algo-1.json"] ?? files["hyperparameters-algo-1.json"])
            #expect(hyperparameters.contains(#""name":"\"quoted\"""#))
            // ShardedByS3Key: every object once across the two hosts; FullyReplicated: both have the file.
            let shards = [files["./train-algo-1"] ?? files["train-algo-1"] ?? "", files["./train-algo-2"] ?? files["train-algo-2"] ?? ""]
            #expect(shards.flatMap { $0.split(separator: "\n") }.sorted() == ["part-0.txt", "part-1.txt", "part-2.txt", "part-3.txt"])
            #expect(shards.allSatisfy { $0.split(separator: "\n").count == 2 })
            #expect((files["./config-algo-2"] ?? files["config-algo-2"]) == "lr=0.1")
            #expect(!(files["./resolve-algo-1"] ?? files["resolve-algo-1"] ?? "unresolved").contains("unresolved"))

            let outputs = try app.unpack("s3://models/contract/output/output.tar.gz")
            #expect(Set(outputs.keys.map { $0.replacingOccurrences(of: "./", with: "") }) == ["out-algo-1", "out-algo-2"])
        }
    }

    @Test func theSDKFrameworkConventionDownloadsTheCodeAndPassesHyperparametersAsArguments() async throws {
        try await LiveApp.run { app in
            // given a source archive where the SageMaker SDK puts it, named by sagemaker_submit_directory
            let source = app.dataDirectory + "/src"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            let program = "import os, sys\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'argv.txt'), 'w').write(' '.join(sys.argv[1:]))\n"
            try program.write(toFile: source + "/train.py", atomically: true, encoding: .utf8)
            let archiveDirectory = app.dataDirectory + "/objects/code/sdk-job/source"
            try FileManager.default.createDirectory(atPath: archiveDirectory, withIntermediateDirectories: true)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/bin/tar")
            tar.arguments = ["-czf", archiveDirectory + "/sourcedir.tar.gz", "-C", source, "."]
            try tar.run()
            tar.waitUntilExit()
            // when the job names it the way the v2 SDK's framework estimators do (JSON-encoded strings)
            try await app.submit(
                #"{"name":"sdk-job","instance_type":"ml.m5.large","output_path":"s3://models/","hyperparameters":{"sagemaker_program":"\"train.py\"","sagemaker_submit_directory":"\"s3://code/sdk-job/source/sourcedir.tar.gz\"","epochs":"3","optimizer":"\"adam\""}}"#)
            let job = try await app.waitForStatus("sdk-job", "Completed")
            // then the program ran from the unpacked archive with the hyperparameters as sorted --key value arguments
            let files = try app.unpack(try #require(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String)))
            #expect(files.values.contains("--epochs 3 --optimizer adam"))
        }
    }

    @Test func theFailureFileBecomesTheFailureReason() async throws {
        try await LiveApp.run { app in
            try await app.submit(try Self.job(app, "fails", script: #"echo "CUDA out of memory: tried to allocate 2 GiB" > "$SM_OUTPUT_DIR/failure"; exit 3"#))
            let job = try await app.waitForStatus("fails", "Failed")
            #expect(job["failure_reason"] as? String == "AlgorithmError: CUDA out of memory: tried to allocate 2 GiB")
            #expect(job["secondary_status"] as? String == "Failed")
        }
    }

    @Test func withoutAFailureFileTheReasonHasTheExitCodeAndLastStderrLines() async throws {
        try await LiveApp.run { app in
            try await app.submit(try Self.job(app, "crashes", script: "echo 'Traceback: something broke' >&2; exit 7"))
            let job = try await app.waitForStatus("crashes", "Failed")
            let reason = job["failure_reason"] as? String ?? ""
            #expect(reason.hasPrefix("AlgorithmError:"))
            #expect(reason.contains("7"))
            #expect(reason.contains("Traceback: something broke"))
            // A failure of the user's code is not retried.
            #expect((job["attempts"] as? [Any])?.count == 1)
        }
    }

    /// A program that is not on the workers fails the job naming it, not with the isolating wrapper's words
    /// ("setpriv: failed to execute torchrun"), and torchrun's says where it comes from.
    @Test func aProgramMissingFromTheWorkersFailsTheJobNamingIt() async throws {
        try await LiveApp.run { app in
            try await app.submit(#"{"name":"missing","instance_type":"ml.m5.large","command":["no-such-program-7f3","--epochs","2"]}"#)
            let missing = try await app.waitForStatus("missing", "Failed")
            let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            #expect(missing["failure_reason"] as? String == "ClientError: the command 'no-such-program-7f3' was not found on the job's PATH (\(path))")
            // The SDK's Estimator(distribution: .torchDistributed) on two hosts, on workers without PyTorch.
            let torchrun = path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/torchrun") }
            guard !torchrun else { return }  // (a machine with PyTorch runs it)
            let code = app.dataDirectory + "/code-torch"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try "print('hello')\n".write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            try await app.submit(
                #"{"name":"torch","instance_type":"ml.m5.large","instance_count":2,"entry_point":"train.py","source_dir":"file://\#(code)","distribution":{"torch_distributed":{"enabled":true}}}"#)
            let torch = try await app.waitForStatus("torch", "Failed")
            #expect(
                torch["failure_reason"] as? String
                    == "ClientError: the command 'torchrun' was not found on the job's PATH (\(path)); distribution torch_distributed starts the entry point with torchrun, which comes with PyTorch: install it on the workers (pip install torch)"
            )
        }
    }

    @Test func stopSendsSIGTERMToTheScriptAndStillUploadsTheModel() async throws {
        try await LiveApp.run { app in
            let script = """
                trap 'echo "saved at stop" > "$SM_MODEL_DIR/stopped.txt"; exit 143' TERM
                echo started > "$SM_MODEL_DIR/started.txt"
                while true; do sleep 0.1; done
                """
            try await app.submit(try Self.job(app, "to-stop", count: 2, script: script))
            try await app.waitForSecondary("to-stop", "Training")
            let (status, stopping) = try await app.request(.POST, "/v1/jobs/to-stop/stop")
            #expect(status == 202)
            #expect(stopping["status"] as? String == "Stopping")
            let job = try await app.waitForStatus("to-stop", "Stopped")
            #expect(job["secondary_status"] as? String == "Stopped")
            let files = try app.unpack("s3://models/to-stop/output/model.tar.gz")
            #expect(files.values.contains("saved at stop\n"))
        }
    }

    @Test func aScriptIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
        try await LiveApp.run { app in
            try await app.submit(try Self.job(app, "stubborn", script: "trap '' TERM; while true; do sleep 0.1; done"))
            try await app.waitForSecondary("stubborn", "Training")
            _ = try await app.request(.POST, "/v1/jobs/stubborn/stop")
            try await app.waitForStatus("stubborn", "Stopped", timeout: .seconds(30))
        }
    }

    @Test func maxRunStopsTheJobWithMaxRuntimeExceeded() async throws {
        try await LiveApp.run { app in
            try await app.submit(try Self.job(app, "too-long", script: "echo partial > \"$SM_MODEL_DIR/partial.txt\"; sleep 60", extra: #","max_run":2"#))
            let job = try await app.waitForStatus("too-long", "Stopped", timeout: .seconds(40))
            #expect(job["secondary_status"] as? String == "MaxRuntimeExceeded")
            let files = try app.unpack("s3://models/too-long/output/model.tar.gz")
            #expect(files.values.contains("partial\n"))
        }
    }

    @Test func aKilledAgentIsRetriedAndThenFailsNamingTheHost() async throws {
        try await LiveApp.run { app in
            // given a job allowed one retry
            try await app.submit(try Self.job(app, "flaky-host", count: 2, script: "sleep 4; echo done > \"$SM_MODEL_DIR/done\"", extra: #","max_retry_attempts":1"#))
            try await app.waitForSecondary("flaky-host", "Training")
            // when algo-2's agent is killed, its lease runs out and the job tries again
            kill(try app.agentPID(job: "flaky-host", attempt: 1, host: "algo-2"), SIGKILL)
            try await app.waitFor("flaky-host", timeout: .seconds(60), "a second attempt") { ($0["attempts"] as? [Any])?.count == 2 }
            let retried = try await app.waitForStatus("flaky-host", "Completed", timeout: .seconds(60))
            let attempts = retried["attempts"] as? [[String: Any]] ?? []
            #expect((attempts.first?["end_reason"] as? String ?? "").contains("algo-2"))

            // and with no retries left, a killed agent fails the job with a reason naming the host
            try await app.submit(try Self.job(app, "dead-host", count: 2, script: "sleep 30"))
            try await app.waitForSecondary("dead-host", "Training")
            kill(try app.agentPID(job: "dead-host", attempt: 1, host: "algo-1"), SIGKILL)
            let failed = try await app.waitForStatus("dead-host", "Failed", timeout: .seconds(60))
            let reason = failed["failure_reason"] as? String ?? ""
            #expect(reason.hasPrefix("InternalServerError") && reason.contains("algo-1"))
        }
    }

    @Test func aJobWaitsPendingWhileCapacityIsShortThenRuns() async throws {
        let capacity = #"{"default": {"on_demand": 4, "spot": 4}, "instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}"#
        try await LiveApp.run(capacity: capacity) { app in
            try await app.submit(try Self.job(app, "first", script: "sleep 3"))
            try await app.waitForSecondary("first", "Training")
            try await app.submit(try Self.job(app, "second", script: "true"))
            let pending = try await app.waitForSecondary("second", "Pending", timeout: .seconds(20))
            let messages = (pending["secondary_status_transitions"] as? [[String: Any]] ?? []).compactMap { $0["status_message"] as? String }
            #expect(messages.contains { $0.contains("ml.m5.large") && $0.contains("0 of 1 free") })
            try await app.waitForStatus("first", "Completed")
            try await app.waitForStatus("second", "Completed")
        }
    }

    @Test func aServerRestartDuringTrainingLosesNothing() async throws {
        try await LiveApp.restartable { database, directory, port in
            // given a job training when the server goes away
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                try await app.submit(try Self.job(app, "survivor", count: 2, script: "sleep 5; echo trained > \"$SM_MODEL_DIR/model.txt\""))
                try await app.waitForSecondary("survivor", "Training")
            }
            // when it comes back after a while on the same database and port
            try await Task.sleep(for: .seconds(1))
            try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                // then the agents reconnect, nobody is judged dead, and the job completes with its model
                let job = try await app.waitForStatus("survivor", "Completed", timeout: .seconds(60))
                #expect((job["attempts"] as? [Any])?.count == 1)
                let files = try app.unpack("s3://models/survivor/output/model.tar.gz")
                #expect(files.values.contains("trained\n"))
            }
        }
    }
}
