import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

/// Follows a job until it ends, printing each secondary status transition as it happens; the exit code says how it
/// ended: 0 Completed, 10 Failed, 11 Stopped (including MaxRuntimeExceeded and MaxWaitTimeExceeded).
func waitForJob(_ name: String, client: Client, pollInterval: Duration = .seconds(1)) async throws -> ExitCode {
    outcome(of: try await followTransitions(name, client: client, pollInterval: pollInterval))
}

/// Prints the job's status transitions as they happen; returns its description once it has ended.
func followTransitions(_ name: String, client: Client, pollInterval: Duration = .seconds(1)) async throws -> Components.Schemas.JobDescription {
    var printed = 0
    var window = ReconnectWindow()
    var answered = false
    while true {
        let job: Components.Schemas.JobDescription
        let answer: Operations.DescribeJob.Output
        do {
            answer = try await client.describeJob(path: .init(name: name))
            window.answered()
            answered = true
        } catch where answered && TrainyardConnection.unreachableReason(error) != nil {
            // The server that answered is away (restarting, say): keep asking, as a log follow keeps reconnecting.
            try await window.retry(after: error, pause: pollInterval)
            continue
        }
        switch answer {
        case .ok(let ok): job = try ok.body.json
        case .badRequest(let response): try fail(response)
        case .unauthorized(let response): try fail(response)
        case .notFound(let response): try fail(response)
        case .undocumented(let status, _): throw CLIError.unexpected(status: status)
        }
        let transitions = job.secondaryStatusTransitions
        for transition in transitions.dropFirst(printed) {
            print("\(transition.startTime.formatted(.iso8601))  \(transition.status.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0))  \(transition.statusMessage)")
        }
        fflush(nil)
        printed = transitions.count
        switch job.status {
        case .completed, .failed, .stopped: return job
        case .inProgress, .stopping: try await Task.sleep(for: pollInterval)
        }
    }
}

/// Prints how an ended job ended; its exit code: 0 Completed, 10 Failed, 11 Stopped.
func outcome(of job: Components.Schemas.JobDescription) -> ExitCode {
    switch job.status {
    case .completed:
        print("\(job.name) Completed; model: \(job.modelArtifacts.s3ModelArtifacts)")
        return .success
    case .failed:
        FileHandle.standardError.write(Data("\(job.name) Failed: \(job.failureReason ?? "no reason recorded")\n".utf8))
        return ExitCode(10)
    case .stopped:
        print("\(job.name) Stopped (\(job.secondaryStatus.rawValue))")
        return ExitCode(11)
    case .inProgress, .stopping:
        return .failure
    }
}

/// `trainyard jobs wait NAME`: follow a job to its end.
struct WaitJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Print a job's status transitions as they happen; exit 0 Completed, 10 Failed, 11 Stopped.")

    @Argument var name: String
    @Flag(help: "Print the job's log lines too, as they come.") var logs = false

    func run() async throws {
        var code = ExitCode.success
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            code = logs ? try await waitPrintingLogs(name, client: client) : try await waitForJob(name, client: client)
        }
        throw code
    }
}

/// Follows the job's log and its transitions together; prints the outcome once both ended.
func waitPrintingLogs(_ name: String, client: Client) async throws -> ExitCode {
    async let lines: Void = LogPrinter(client: client, name: name, host: nil, since: nil, json: false).follow()
    let job = try await followTransitions(name, client: client)
    try await lines
    return outcome(of: job)
}
