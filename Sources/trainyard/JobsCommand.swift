import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

/// `trainyard jobs …`: submit, list, describe, stop and follow training jobs.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Submit and manage training jobs.",
        subcommands: [SubmitJob.self, ListJobs.self, DescribeJob.self, UpdateJob.self, StopJob.self, JobEvents.self, JobLogs.self, WaitJob.self, DownloadArtifact.self])
}

struct SubmitJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit a job from a JSON spec file and/or flags (flags override the file).")

    @Option(name: [.short, .customLong("file")], help: "A JSON job spec (the API's snake_case JobSpec fields, see openapi/trainyard.yaml), or - for standard input.") var file: String?
    @Option(
        name: .customLong("from"),
        help: ArgumentHelp(
            "Start from the spec of this job of the project (its code, inputs, hyperparameters, resources…), as SageMaker's Clone does; flags override it, and the name is new (--name, or <job>-<time>).",
            valueName: "job"))
    var from: String?
    @Option(help: "Job name; generated when absent.") var name: String?
    @Option(help: "Instance type, e.g. ml.m5.large.") var instanceType: String?
    @Option(help: "Number of hosts.") var instanceCount: Int?
    @Flag(help: "Use managed spot capacity.") var spot = false
    @Option(help: "Maximum training seconds (max_run).") var maxRun: Int?
    @Option(help: "Maximum seconds of waiting plus training, spot only (max_wait).") var maxWait: Int?
    @Option(help: "Maximum seconds of waiting for capacity, summed over the job's waits; then it is stopped (max_pending).") var maxPending: Int?
    @Option(
        help: ArgumentHelp(
            "Seconds the job's hosts stay warm after it ends, for the next job with the same instance type, count and volume and a keep-alive of its own (keep_alive_period).",
            valueName: "seconds"))
    var keepAlive: Int?
    @Option(help: "Where model.tar.gz goes (output_path).") var outputPath: String?
    @Option(
        name: .customLong("checkpoint-s3-uri"),
        help: "Where the checkpoint directory is synced, and restored from on a restart (checkpoint_s3_uri; s3:// or file://).")
    var checkpointS3URI: String?
    @Option(help: "The script each worker runs, relative to --source-dir (entry_point).") var entryPoint: String?
    @Option(
        help: ArgumentHelp(
            """
            A local directory, packed and uploaded through the server to <output path>/<job>/source/sourcedir.tar.gz (without --output-path, the project's own location; \
            only the key is needed, from any machine), or an s3:// or file:// URI used as is (source_dir).
            """,
            valueName: "dir"))
    var sourceDir: String?
    @Option(name: .customLong("hyperparameter"), help: "key=value, repeatable.") var hyperparameters: [String] = []
    @Option(name: .customLong("env"), help: "KEY=value, repeatable.") var environment: [String] = []
    @Option(
        name: .customLong("metric-definition"),
        help: ArgumentHelp(
            "name=regex, repeatable: a metric series read from the log lines, the regex's first group its value (SageMaker's MetricDefinitions).",
            valueName: "name=regex"))
    var metricDefinitions: [String] = []
    @Option(help: "Idempotency-Key: a retry with the same key returns the same job.") var idempotencyKey: String?
    @Flag(help: "Print the description as JSON.") var json = false
    @Flag(help: "Follow the job's status transitions until it ends; exit 0 Completed, 10 Failed, 11 Stopped.") var wait = false
    @Flag(help: "With --wait, print the job's log lines too, as they come.") var logs = false
    @Argument(parsing: .postTerminator, help: "The command each worker runs, after --.") var command: [String] = []

    func run() async throws {
        var outcome = ExitCode.success
        try await runReportingErrors {
            // One client for the command, made when first needed (a spec file's errors come before a missing server's).
            var connected: TrainyardClient?
            func client() throws -> TrainyardClient {
                if let connected { return connected }
                let made = try TrainyardClient()
                connected = made
                return made
            }
            var spec = try await loadSpec(client: client)
            if let name { spec.name = name }
            if let instanceType { spec.instanceType = instanceType }
            if let instanceCount { spec.instanceCount = instanceCount }
            if spot { spec.useSpotInstances = true }
            if let maxRun { spec.maxRun = maxRun }
            if let maxWait { spec.maxWait = maxWait }
            if let maxPending { spec.maxPending = maxPending }
            if let keepAlive { spec.keepAlivePeriod = keepAlive }
            if let outputPath { spec.outputPath = outputPath }
            if let checkpointS3URI { spec.checkpointS3Uri = checkpointS3URI }
            if !command.isEmpty { spec.command = command }
            if let entryPoint { spec.entryPoint = entryPoint }
            if let sourceDir {
                if sourceDir.hasPrefix("s3://") || sourceDir.hasPrefix("file://") {
                    spec.sourceDir = sourceDir
                } else {
                    // The archive's key holds the job name, so the name is fixed before the upload, as the SDK fixes it.
                    let jobName = spec.name ?? JobNames.generate(base: spec.entryPoint ?? "job")
                    spec.name = jobName
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: sourceDir, isDirectory: &isDirectory), isDirectory.boolValue else {
                        throw CLIError.input("--source-dir \(sourceDir) is not a directory")
                    }
                    let directory = URL(fileURLWithPath: sourceDir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                    spec.sourceDir = try await client().uploadSource(directory: directory, jobName: jobName, outputPath: spec.outputPath).sourceDir
                }
            }
            if !hyperparameters.isEmpty {
                var map = spec.hyperparameters?.additionalProperties ?? [:]
                for pair in hyperparameters { let (key, value) = try split(pair, flag: "--hyperparameter"); map[key] = value }
                spec.hyperparameters = .init(additionalProperties: map)
            }
            if !environment.isEmpty {
                var map = spec.environment?.additionalProperties ?? [:]
                for pair in environment { let (key, value) = try split(pair, flag: "--env"); map[key] = value }
                spec.environment = .init(additionalProperties: map)
            }
            if !metricDefinitions.isEmpty {
                // Given on the command line, they are the job's: a file's are replaced, as a flag replaces its field.
                spec.metricDefinitions = try metricDefinitions.map { pair in
                    let (name, regex) = try split(pair, flag: "--metric-definition")
                    return .init(name: name, regex: regex)
                }
            }
            guard !spec.instanceType.isEmpty else { throw CLIError.input("an instance type is required: --instance-type or instance_type in the file") }
            let job = try await client().submit(spec, idempotencyKey: idempotencyKey)
            if json, let description = job.submitted { try printJSON(description) } else { print(job.name) }
            if wait { outcome = logs ? try await waitPrintingLogs(job) : try await waitForJob(job) }
        }
        if outcome != .success { throw outcome }
    }

    func loadSpec(client: () throws -> TrainyardClient) async throws -> JobSpec {
        if let from {
            guard file == nil else { throw CLIError.input("--from \(from) and --file \(file ?? "") both give the spec to start from: give one") }
            var spec = try await client().describeJob(from).spec
            // Named after the job it comes from, so that its copies list together (--name replaces it).
            spec.name = JobNames.generate(base: from)
            return spec
        }
        guard let file else { return JobSpec(instanceType: "") }
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else { throw CLIError.input("cannot read \(file)") }
            data = contents
        }
        do {
            return try JSONDecoder().decode(JobSpec.self, from: data)
        } catch {
            throw CLIError.input("\(file) is not a valid job spec: \(error)")
        }
    }

    func split(_ pair: String, flag: String) throws -> (String, String) {
        guard let equals = pair.firstIndex(of: "=") else { throw CLIError.input("\(flag) \(pair): expected key=value") }
        return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
    }
}

struct ListJobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")

    @Option(help: "InProgress, Completed, Failed, Stopping or Stopped.") var status: String?
    @Option(help: "Only names containing this text.") var nameContains: String?
    @Option(help: "Only jobs whose warm pool is Available, InUse, Reused or Terminated.") var warmPoolStatus: String?
    @Option(help: "creation_time, name or status.") var sortBy: String?
    @Option(help: "ascending or descending.") var sortOrder: String?
    @Option(help: "Page size, 1…100 (the service's default is 10).") var maxResults: Int?
    @Option(help: "Start at this page, as a previous list printed it.") var nextToken: String?
    @Flag(help: "Follow next_token to the last page.") var all = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let query = JobQuery(
                status: try status.map { try parseChoice(JobStatus.self, $0, "--status") }, nameContains: nameContains,
                sortBy: try sortBy.map { try parseChoice(Operations.ListJobs.Input.Query.SortByPayload.self, $0, "--sort-by") },
                sortOrder: try sortOrder.map { try parseChoice(Operations.ListJobs.Input.Query.SortOrderPayload.self, $0, "--sort-order") },
                pageSize: maxResults,
                warmPoolStatus: try warmPoolStatus.map { try parseChoice(Operations.ListJobs.Input.Query.WarmPoolStatusPayload.self, $0, "--warm-pool-status") })
            var token = nextToken
            var more: String?
            var jobs: [JobSummary] = []
            repeat {
                let page = try await client.listJobs(query, nextToken: token)
                jobs += page.jobs
                token = all ? page.nextToken : nil
                more = all ? nil : page.nextToken
            } while token != nil
            if json {
                try printJSON(jobs)
            } else {
                printTable(
                    ["NAME", "STATUS", "SECONDARY", "TYPE", "COUNT", "SPOT", "WARM POOL", "CREATED"],
                    jobs.map {
                        [$0.name, $0.status.rawValue, $0.secondaryStatus.rawValue, $0.instanceType, "\($0.instanceCount)",
                         $0.useSpotInstances ? "yes" : "no", $0.warmPoolStatus?.status.rawValue ?? "-", $0.creationTime.formatted(.iso8601)]
                    })
            }
            // A page is not all there is: say so, and how to see the rest (on standard error, so --json stays JSON).
            if let more {
                FileHandle.standardError.write(Data(Self.moreJobsHint(shown: jobs.count, nextToken: more).utf8))
            }
        }
    }

    /// What `jobs list` prints after a page when more jobs exist.
    static func moreJobsHint(shown: Int, nextToken: String) -> String {
        "More jobs exist than the \(shown) shown. `trainyard jobs list --all` lists every one; "
            + "`trainyard jobs list --next-token \(nextToken)` shows the next page (--max-results sets its size, up to 100).\n"
    }
}

func parseChoice<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ value: String, _ flag: String) throws -> T where T.RawValue == String {
    guard let parsed = T(rawValue: value) else {
        throw CLIError.input("\(flag) \(value) is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return parsed
}

struct DescribeJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show a job's description.")

    @Argument var name: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let job = try await TrainyardClient().describeJob(name)
            if json { try printJSON(job) } else { printDescription(job) }
        }
    }
}

extension Components.Schemas.Goodput {
    /// Faults of any class, and recoveries: whether there is anything to say beyond training time.
    var faultsAndRecoveries: Int { autoRecoveries + faults.spotReclaim + faults.hostLost + faults.userError + faults.stop }
}

/// Where the model goes, and whether it is there: a URI alone read as a model to download.
func modelArtifactsLine(_ job: JobDescription) -> String {
    let uri = job.modelArtifacts.s3ModelArtifacts
    guard job.modelArtifacts.sha256 == nil else { return uri }
    let ended = ["Completed", "Failed", "Stopped"].contains(job.status.rawValue)
    return uri + (ended ? " (none: the job ended \(job.status.rawValue) before uploading one)" : " (uploaded when the job ends)")
}

/// The readable form of a description: fields, then the status transitions.
func printDescription(_ job: JobDescription) {
    var rows: [[String]] = [
        ["Name", job.name], ["ARN", job.arn], ["Project", job.project], ["Status", "\(job.status.rawValue) / \(job.secondaryStatus.rawValue)"],
        ["Instances", "\(job.instanceCount) × \(job.instanceType)\(job.useSpotInstances ? " (spot)" : "")"],
        ["Max run", "\(job.maxRun) s"], ["Created", job.creationTime.formatted(.iso8601)],
        ["Model artifacts", modelArtifactsLine(job)],
    ]
    if let size = job.modelArtifacts.sizeBytes, let sha256 = job.modelArtifacts.sha256 {
        rows.append(["Model size / SHA-256", "\(size) B  \(sha256)"])
    }
    if let output = job.outputArtifacts {
        rows.append(["Output artifacts", output.s3OutputArtifacts])
        rows.append(["Output size / SHA-256", "\(output.sizeBytes) B  \(output.sha256)"])
    }
    if let maxPending = job.maxPending { rows.insert(["Max pending", "\(maxPending) s"], at: 6) }
    if let maxWait = job.maxWait { rows.insert(["Max wait", "\(maxWait) s"], at: 6) }
    if let command = job.command { rows.append(["Command", command.joined(separator: " ")]) }
    if let entryPoint = job.entryPoint { rows.append(["Entry point", entryPoint]) }
    if let reason = job.failureReason { rows.append(["Failure reason", reason]) }
    if let seconds = job.trainingTimeSeconds { rows.append(["Training time", "\(seconds) s"]) }
    if let seconds = job.billableTimeSeconds { rows.append(["Billable time", "\(seconds) s"]) }
    if let goodput = job.goodput, goodput.trainingSeconds > 0 || goodput.faultsAndRecoveries > 0 {
        let uptime = goodput.uptimePercent.map { ", uptime \($0)%" } ?? ""
        rows.append(["Goodput", "\(goodput.productiveSeconds) s productive of \(goodput.trainingSeconds) s training (\(goodput.lostSeconds) s lost)\(uptime)"])
        let faults = goodput.faults
        rows.append([
            "Faults",
            "spot reclaim \(faults.spotReclaim), host lost \(faults.hostLost), user error \(faults.userError), stop \(faults.stop); "
                + "\(goodput.autoRecoveries) recovered" + (goodput.meanRecoverySeconds.map { " in \($0) s on average" } ?? ""),
        ])
    }
    if !job.finalMetricDataList.isEmpty {
        rows.append(["Final metrics", job.finalMetricDataList.map { "\($0.metricName) \($0.value)" }.joined(separator: ", ")])
    }
    if let unused = job.imageNotUsed { rows.append(["Image not used", "\(unused.imageUri): \(unused.reason)"]) }
    if job.keepAlivePeriod > 0 { rows.append(["Keep alive", "\(job.keepAlivePeriod) s"]) }
    if let pool = job.warmPoolStatus { rows.append(["Warm pool", pool.summary]) }
    let width = rows.map { $0[0].count }.max() ?? 0
    for row in rows { print("\(row[0].padding(toLength: width, withPad: " ", startingAt: 0))  \(row[1])") }
    print("")
    // Each host of each attempt with its id: what `trainyard admin interrupt` takes.
    if !job.attempts.isEmpty {
        printTable(
            ["ATTEMPT", "HOST", "HOST ID", "TYPE", "SPOT", "STATE", "STARTED", "ENDED", "END REASON"],
            job.attempts.flatMap { attempt in
                let head = ["\(attempt.number)"]
                let times = [attempt.startedAt.formatted(.iso8601), attempt.endedAt?.formatted(.iso8601) ?? "-", attempt.endReason ?? "-"]
                guard !attempt.hosts.isEmpty else { return [head + ["-", "-", "-", "-", "-"] + times] }
                return attempt.hosts.map { host in
                    head + [host.name, host.id, host.instanceType, host.spot ? "yes" : "no", host.state] + times
                }
            })
        print("")
    }
    printTable(
        ["TRANSITION", "START", "MESSAGE"],
        job.secondaryStatusTransitions.map { [$0.status.rawValue, $0.startTime.formatted(.iso8601), $0.statusMessage] })
}

struct UpdateJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change how long a job's hosts stay warm after it ends.",
        discussion: """
            A job whose warm pool is Available keeps it until its end plus the new period; 0 (or a period already over) \
            ends the pool now, freeing its hosts for the queue (SageMaker's UpdateTrainingJob with KeepAlivePeriodInSeconds).
            """)

    @Argument(help: "The job.") var name: String
    @Option(help: ArgumentHelp("Seconds the job's hosts stay warm after it ends, 0 to 21600 (keep_alive_period).", valueName: "seconds"))
    var keepAlive: Int
    @Flag(help: "Print the description as JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let job = try await TrainyardClient().updateJob(name, keepAlivePeriod: keepAlive)
            if json {
                try printJSON(job)
            } else {
                print("\(job.name): keep_alive_period \(job.keepAlivePeriod) s" + (job.warmPoolStatus.map { "; warm pool \($0.summary)" } ?? ""))
            }
        }
    }
}

struct StopJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop jobs (SIGTERM, grace period, SIGKILL).",
        discussion: """
            Every named job is asked to stop, even when another cannot be; each that cannot is reported, and the exit \
            code is the first failure's (5 not found, 6 already ended, ...).
            """)

    @Argument(help: "The jobs to stop.") var names: [String] = []

    func validate() throws {
        if names.isEmpty { throw ValidationError("Name at least one job to stop.") }
    }

    func run() async throws {
        var connection: TrainyardClient?
        try await runReportingErrors { connection = try TrainyardClient() }
        guard let client = connection else { return }
        var firstFailure: ExitCode?
        for name in names {
            do {
                try await runReportingErrors(prefix: "\(name) was not stopped: ") { try await stop(name, client: client) }
            } catch let code as ExitCode {
                firstFailure = firstFailure ?? code
            }
        }
        if let firstFailure { throw firstFailure }
    }

    func stop(_ name: String, client: TrainyardClient) async throws {
        let job = try await client.stopJob(name)
        print("\(job.name) \(job.status.rawValue)/\(job.secondaryStatus.rawValue)")
    }
}

struct JobEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Show a job's events in order.")

    @Argument var name: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let events = try await TrainyardClient().events(of: name)
            if json { try printJSON(events); return }
            printTable(
                ["TIME", "TYPE", "STATUS", "MESSAGE"],
                events.map { [$0.time.formatted(.iso8601), $0._type, "\($0.status.rawValue)/\($0.secondaryStatus.rawValue)", $0.message] })
        }
    }
}

/// `trainyard jobs download NAME`: an ended job's model.tar.gz (or output.tar.gz) through the server, checked against
/// the SHA-256 the service recorded.
struct DownloadArtifact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download", abstract: "Download an ended job's model.tar.gz (or, with --output, output.tar.gz), checked against its SHA-256.")

    @Argument var name: String
    @Flag(help: "output.tar.gz (every host's /opt/ml/output/data) instead of model.tar.gz.") var output = false
    @Option(name: [.short, .customLong("to")], help: "Where to write it (default: ./model.tar.gz or ./output.tar.gz).") var file: String?

    func run() async throws {
        try await runReportingErrors {
            let artifact: JobArtifact = output ? .output : .model
            let target = URL(fileURLWithPath: file ?? "\(artifact.rawValue).tar.gz", relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            let downloaded = try await TrainyardClient().download(artifact, of: name, to: target)
            print("\(downloaded.file.path)  \(downloaded.sizeBytes) B  sha256 \(downloaded.sha256)")
        }
    }
}
