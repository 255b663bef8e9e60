import Foundation
import Testing
import TrainyardTestSupport

/// The `trainyard jobs …` details a user trips over, through the real binary as a user runs it.
@Suite(.serialized) struct JobsCLITests {
    static func cli(_ arguments: [String], _ app: LiveApp) async throws -> (status: Int32, output: String) {
        try await runTrainyard(
            arguments, in: app.dataDirectory, environment: ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": TestApp.adminToken],
            isolated: true, mergingErrors: true)
    }

    /// A job whose command runs `seconds` on the host.
    static func job(_ name: String, sleeping seconds: Int = 0) -> String {
        #"{"name":"\#(name)","instance_type":"ml.m5.large","output_path":"s3://models/","command":["sleep","\#(seconds)"]}"#
    }

    @Test func listSaysWhenMoreJobsExistAndHowToSeeThemAndAllListsEveryOne() async throws {
        try await LiveApp.run(capacity: #"{"instance_types": {"ml.m5.large": {"on_demand": 1, "spot": 0}}}"#) { app in
            // given 25 jobs, more than a page
            for index in 1...25 { try await app.submit(Self.job(String(format: "listed-%02d", index), sleeping: 0)) }
            // when the user lists them
            let (status, output) = try await Self.cli(["jobs", "list"], app)
            // then a page is shown, with what to do to see the rest
            #expect(status == 0, "\(output)")
            #expect(output.components(separatedBy: "\n").filter { $0.hasPrefix("listed-") }.count == 10, "\(output)")
            #expect(output.contains("More jobs exist than the 10 shown. `trainyard jobs list --all` lists every one"), "\(output)")
            let token = try #require(
                output.firstMatch(of: /--next-token (\S+)` shows the next page/).map { String($0.1) }, "\(output)")
            // and following the hint shows the next page, and --all every job
            let next = try await Self.cli(["jobs", "list", "--next-token", token], app)
            #expect(next.output.contains("listed-15") && !next.output.contains("listed-25"), "\(next.output)")
            let all = try await Self.cli(["jobs", "list", "--all"], app)
            #expect(all.status == 0)
            #expect(Set(all.output.components(separatedBy: "\n").filter { $0.hasPrefix("listed-") }.map { String($0.prefix(9)) }).count == 25)
            #expect(!all.output.contains("More jobs exist"))
        }
    }

    /// A new user's first command, before the server runs: said at once, with what to do, not after a minute of
    /// retries as the HTTP client's raw error.
    @Test func withNoServerListeningEveryCommandSaysWhichServerItCannotReachAndWhatToDo() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("no-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let url = "http://127.0.0.1:\(try LiveApp.freePort())"
        for arguments in [["jobs", "list"], ["jobs", "submit", "--instance-type", "ml.m5.large", "--", "true"], ["jobs", "wait", "mnist-1"]] {
            let (status, output) = try await runTrainyard(
                arguments, in: directory, environment: ["TRAINYARD_URL": url, "TRAINYARD_API_KEY": TestApp.adminToken], isolated: true,
                mergingErrors: true, timeout: .seconds(45))
            #expect(status == 1, "\(arguments): \(output)")
            #expect(
                output == """
                    error: cannot reach the Trainyard server at \(url): connection refused
                      start one with `trainyard serve`, or point TRAINYARD_URL (or --profile) at one that runs

                    """, "\(arguments)")
        }
    }

    @Test func aUsageErrorExits2WithTheMessage() async throws {
        let directory = try LiveApp.dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unknown = try await runTrainyard(["jobs", "list", "--bogus"], in: directory, environment: [:], isolated: true, mergingErrors: true)
        #expect(unknown.status == 2, "\(unknown.output)")
        #expect(unknown.output.contains("Unknown option '--bogus'"), "\(unknown.output)")
        #expect(unknown.output.contains("Usage: trainyard jobs list"), "\(unknown.output)")
        let noName = try await runTrainyard(["jobs", "stop"], in: directory, environment: [:], isolated: true, mergingErrors: true)
        #expect(noName.status == 2, "\(noName.output)")
        #expect(noName.output.contains("Name at least one job to stop."), "\(noName.output)")
        let help = try await runTrainyard(["jobs", "stop", "--help"], in: directory, environment: [:], isolated: true, mergingErrors: true)
        #expect(help.status == 0, "\(help.output)")
    }

    @Test func describeShowsTheAttemptsAndTheirHostsWithIds() async throws {
        try await LiveApp.run { app in
            try await app.submit(Self.job("described", sleeping: 0))
            let job = try await app.waitForStatus("described", "Completed")
            let attempt = try #require((job["attempts"] as? [[String: Any]])?.first)
            let host = try #require((attempt["hosts"] as? [[String: Any]])?.first)
            let id = try #require(host["id"] as? String)
            let (status, output) = try await Self.cli(["jobs", "describe", "described"], app)
            #expect(status == 0, "\(output)")
            let header = try #require(output.components(separatedBy: "\n").first { $0.hasPrefix("ATTEMPT") }, "\(output)")
            #expect(header.contains("HOST ID"))
            let row = try #require(output.components(separatedBy: "\n").first { $0.contains(id) }, "\(output)")
            #expect(row.hasPrefix("1 ") && row.contains("algo-1") && row.contains("ml.m5.large") && row.contains("Completed"), "\(row)")
            #expect(output.contains("Model size / SHA-256"), "\(output)")
            // A job that failed before writing a model: its model's URI does not read as a model to download.
            try await app.submit(#"{"name":"no-model","instance_type":"ml.m5.large","command":["sh","-c","exit 3"]}"#)
            _ = try await app.waitForStatus("no-model", "Failed")
            let failed = try await Self.cli(["jobs", "describe", "no-model"], app).output
            let line = try #require(failed.components(separatedBy: "\n").first { $0.hasPrefix("Model artifacts") }, "\(failed)")
            #expect(line.hasSuffix("/no-model/output/model.tar.gz (none: the job ended Failed before uploading one)"), "\(line)")
        }
    }

    @Test func aWarmPoolIsAskedForShownAndEndedFromTheCommandLine() async throws {
        try await LiveApp.run(workers: LiveApp.fastWorkers) { app in
            // A user asks for a pool at submission, as with every other flag.
            let (submitted, submitOutput) = try await Self.cli(
                ["jobs", "submit", "--name", "warm", "--instance-type", "ml.m5.large", "--output-path", "s3://models/", "--keep-alive", "900",
                 "--wait", "--", "python3", "-c", "print('trained')"], app)
            #expect(submitted == 0, "\(submitOutput)")
            let (_, described) = try await Self.cli(["jobs", "describe", "warm"], app)
            let lines = described.components(separatedBy: "\n")
            #expect(lines.contains { $0.hasPrefix("Keep alive") && $0.hasSuffix("900 s") }, "\(described)")
            let pool = try #require(lines.first { $0.hasPrefix("Warm pool") }, "\(described)")
            #expect(pool.contains("Available until 20"), "\(pool)")
            // And ends it early.
            let (updated, updateOutput) = try await Self.cli(["jobs", "update", "warm", "--keep-alive", "0"], app)
            #expect(updated == 0 && updateOutput.hasPrefix("warm: keep_alive_period 0 s; warm pool Terminated ("), "\(updateOutput)")
            let (_, ended) = try await Self.cli(["jobs", "list", "--warm-pool-status", "Terminated"], app)
            let rows = ended.components(separatedBy: "\n").filter { !$0.isEmpty }
            #expect(rows.count == 2 && rows[0].contains("WARM POOL") && rows[1].hasPrefix("warm ") && rows[1].contains(" Terminated "), "\(ended)")
            // A period out of range is refused with the rule, and changes nothing.
            let (refused, refusal) = try await Self.cli(["jobs", "update", "warm", "--keep-alive", "21601"], app)
            #expect(refused != 0 && refusal.contains("keep_alive_period must be between 0 and 21600 seconds; it is 21601"), "\(refusal)")
            #expect(try await app.request(.GET, "/v1/jobs/warm").1["keep_alive_period"] as? Int == 0)
            let (missing, missingOutput) = try await Self.cli(["jobs", "update", "nope", "--keep-alive", "5"], app)
            #expect(missing == 5 && missingOutput.contains("training job nope not found"), "\(missingOutput)")
        }
    }

    /// Metric definitions (and the checkpoint URI) from the command line, as SageMaker's: the job's series and final value,
    /// and a definition the service refuses is said with its rule, creating nothing.
    @Test func metricDefinitionsAreGivenOnTheCommandLine() async throws {
        try await LiveApp.run(workers: LiveApp.fastWorkers) { app in
            let (submitted, output) = try await Self.cli(
                ["jobs", "submit", "--name", "measured", "--instance-type", "ml.m5.large", "--checkpoint-s3-uri", "s3://ckpt/measured",
                 "--metric-definition", "loss=loss=([0-9.]+)",
                 "--metric-definition", "acc=accuracy: ([0-9.]+)", "--wait", "--", "python3", "-c",
                 "print('loss=0.5 accuracy: 0.75'); print('loss=0.25 accuracy: 0.875')"], app)
            #expect(submitted == 0, "\(output)")
            let job = try await app.describe("measured")
            #expect(job["checkpoint_s3_uri"] as? String == "s3://ckpt/measured", "\(job)")
            let definitions = (job["metric_definitions"] as? [[String: String]]) ?? []
            #expect(definitions == [["name": "loss", "regex": "loss=([0-9.]+)"], ["name": "acc", "regex": "accuracy: ([0-9.]+)"]], "\(job)")
            let final = (job["final_metric_data_list"] as? [[String: Any]] ?? []).map { "\($0["metric_name"] ?? "") \($0["value"] ?? "")" }
            #expect(Set(final) == ["loss 0.25", "acc 0.875"], "\(final)")
            let (_, described) = try await Self.cli(["jobs", "describe", "measured"], app)
            let row = described.components(separatedBy: "\n").first { $0.hasPrefix("Final metrics") } ?? ""
            #expect(row.contains("loss 0.25") && row.contains("acc 0.875"), "\(described)")
            // a pair without '=' is the CLI's to refuse; a regex the service refuses names its rule
            let (malformed, said) = try await Self.cli(["jobs", "submit", "--instance-type", "ml.m5.large", "--metric-definition", "loss", "--", "true"], app)
            #expect(malformed == 3 && said.contains("--metric-definition loss: expected key=value"), "\(said)")
            let (refused, refusal) = try await Self.cli(
                ["jobs", "submit", "--name", "nested", "--instance-type", "ml.m5.large", "--metric-definition", "loss=(a+)+", "--", "true"], app)
            #expect(refused == 3 && refusal.contains("metric_definitions[0].regex") && refusal.contains("regex"), "\(refusal)")
            #expect(try await app.request(.GET, "/v1/jobs/nested").0 == 404)
        }
    }

    /// `submit --from`: a job like another (SageMaker's Clone) with what the flags change, under a new name, in the
    /// project's own jobs only.
    @Test func submitFromAnotherJobTakesItsSpecAndTheFlagsChangeIt() async throws {
        try await LiveApp.run(workers: LiveApp.fastWorkers) { app in
            let trainer = "import json; hp = json.load(open('/opt/ml/input/config/hyperparameters.json')); print('epochs', hp['epochs'], flush=True)"
            let (first, said) = try await Self.cli(
                ["jobs", "submit", "--name", "original", "--instance-type", "ml.m5.large", "--instance-count", "2", "--max-run", "600",
                 "--hyperparameter", "epochs=3", "--hyperparameter", "lr=0.1", "--env", "MODE=fast", "--metric-definition", "loss=loss=([0-9.]+)",
                 "--wait", "--", "python3", "-c", trainer], app)
            #expect(first == 0, "\(said)")
            let (cloned, output) = try await Self.cli(
                ["jobs", "submit", "--from", "original", "--name", "longer", "--hyperparameter", "epochs=5", "--wait"], app)
            #expect(cloned == 0, "\(output)")
            let original = try await app.describe("original")
            let longer = try await app.describe("longer")
            func canonical(_ value: Any?) throws -> String {
                String(decoding: try JSONSerialization.data(withJSONObject: [value ?? NSNull()], options: [.sortedKeys]), as: UTF8.self)
            }
            for field in ["instance_type", "instance_count", "max_run", "command", "environment", "metric_definitions", "output_path"] {
                #expect(try canonical(original[field]) == (try canonical(longer[field])), "\(field)")
            }
            #expect(longer["hyperparameters"] as? [String: String] == ["epochs": "5", "lr": "0.1"], "\(longer)")
            #expect(try await app.allLogLines("longer").compactMap { $0["message"] as? String }.sorted() == ["epochs 5", "epochs 5"])
            // without --name, a name of its own after the job it comes from: original-<time>
            let (again, named) = try await Self.cli(["jobs", "submit", "--from", "original", "--", "true"], app)
            let generated = named.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(again == 0 && generated.hasPrefix("original-20") && generated.count == "original-".count + 23, "\(named)")
            #expect(try await app.describe(generated)["command"] as? [String] == ["true"])
            // what a user can get wrong
            let (missing, notFound) = try await Self.cli(["jobs", "submit", "--from", "nobody"], app)
            #expect(missing == 5 && notFound.contains("training job nobody not found"), "\(notFound)")
            let (both, twice) = try await Self.cli(["jobs", "submit", "--from", "original", "--file", "spec.json"], app)
            #expect(both == 3 && twice.contains("--from original and --file spec.json both give the spec to start from: give one"), "\(twice)")
            let (taken, conflict) = try await Self.cli(["jobs", "submit", "--from", "original", "--name", "original"], app)
            #expect(taken == 6 && conflict.contains("already exists"), "\(conflict)")
            // another project's job of that name is not found: its spec is not this project's to copy
            let (_, project) = try await app.request(.POST, "/v1/projects", json: #"{"name":"elsewhere"}"#)
            let other = try #require((project["api_key"] as? [String: Any])?["token"] as? String, "\(project)")
            let (foreign, hidden) = try await runTrainyard(
                ["jobs", "submit", "--from", "original"], in: app.dataDirectory, environment: ["TRAINYARD_URL": app.baseURL, "TRAINYARD_API_KEY": other],
                isolated: true, mergingErrors: true)
            #expect(foreign == 5 && hidden.contains("training job original not found"), "\(hidden)")
        }
    }

    @Test func stopTakesSeveralNamesAndAMissingOneIsReportedWithExit5() async throws {
        try await LiveApp.run { app in
            for name in ["stop-a", "stop-b", "stop-c"] { try await app.submit(Self.job(name, sleeping: 300)) }
            // (stop-a trains first: a job stopped before its hosts start has no goodput to describe)
            try await app.waitForSecondary("stop-a", "Training")
            // when two names are given, both stop
            let both = try await Self.cli(["jobs", "stop", "stop-a", "stop-b"], app)
            #expect(both.status == 0, "\(both.output)")
            #expect(both.output.contains("stop-a ") && both.output.contains("stop-b "), "\(both.output)")
            try await app.waitForStatus("stop-a", "Stopped")
            try await app.waitForStatus("stop-b", "Stopped")
            // (describe counts the stop among the job's faults, beside its goodput)
            let described = try await Self.cli(["jobs", "describe", "stop-a"], app)
            let faults = try #require(described.output.components(separatedBy: "\n").first { $0.hasPrefix("Faults") }, "\(described.output)")
            #expect(faults.contains("spot reclaim 0, host lost 0, user error 0, stop 1; 0 recovered"), "\(faults)")
            #expect(described.output.contains("s productive of "), "\(described.output)")
            // when one of them does not exist, the others still stop, the missing one is named, and the exit code is 5
            let mixed = try await Self.cli(["jobs", "stop", "missing-job", "stop-c"], app)
            #expect(mixed.status == 5, "\(mixed.output)")
            #expect(mixed.output.contains("error: missing-job was not stopped: Not found (404)\n  training job missing-job not found"), "\(mixed.output)")
            #expect(mixed.output.contains("stop-c "), "\(mixed.output)")
            try await app.waitForStatus("stop-c", "Stopped")
        }
    }
}
