import ArgumentParser
import Foundation
import Trainyard

/// Follows a job until it ends, printing each secondary status transition as it happens; the exit code says how it
/// ended: 0 Completed, 10 Failed, 11 Stopped (including MaxRuntimeExceeded and MaxWaitTimeExceeded).
func waitForJob(_ job: TrainingJob, pollInterval: Duration = .seconds(1)) async throws -> ExitCode {
    let ended = try await job.follow(pollInterval: pollInterval, onTransition: { transition in
        print("\(transition.startTime.formatted(.iso8601))  \(transition.status.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0))  \(transition.statusMessage)")
        fflush(nil)
    })
    return outcome(of: ended)
}

/// Prints how an ended job ended; its exit code: 0 Completed, 10 Failed, 11 Stopped.
func outcome(of job: JobDescription) -> ExitCode {
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
            let job = TrainingJob(client: try TrainyardClient(), name: name)
            code = logs ? try await waitPrintingLogs(job) : try await waitForJob(job)
        }
        throw code
    }
}

/// Follows the job's log and its transitions together; prints the outcome once both ended.
func waitPrintingLogs(_ job: TrainingJob) async throws -> ExitCode {
    async let lines: Void = LogPrinter(json: false).print(job.logs(follow: true))
    let code = try await waitForJob(job)
    try await lines
    return code
}
