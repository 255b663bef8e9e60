import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

/// Follows a job until it ends, printing each secondary status transition as it happens; the exit code says how it
/// ended: 0 Completed, 10 Failed, 11 Stopped (including MaxRuntimeExceeded and MaxWaitTimeExceeded).
func waitForJob(_ name: String, client: Client, pollInterval: Duration = .seconds(1)) async throws -> ExitCode {
    var printed = 0
    while true {
        let job: Components.Schemas.JobDescription
        switch try await client.describeJob(path: .init(name: name)) {
        case .ok(let ok): job = try ok.body.json
        case .unauthorized(let response): try fail(response)
        case .notFound(let response): try fail(response)
        case .undocumented(let status, _): throw CLIError.unexpected(status: status)
        }
        let transitions = job.secondaryStatusTransitions
        for transition in transitions.dropFirst(printed) {
            print("\(transition.startTime.formatted(.iso8601))  \(transition.status.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0))  \(transition.statusMessage)")
        }
        printed = transitions.count
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
            try await Task.sleep(for: pollInterval)
        }
    }
}

/// `trainyard jobs wait NAME`: follow a job to its end.
struct WaitJob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Print a job's status transitions as they happen; exit 0 Completed, 10 Failed, 11 Stopped.")

    @Argument var name: String

    func run() async throws {
        var code = ExitCode.success
        try await runReportingErrors {
            code = try await waitForJob(name, client: try TrainyardConnection.fromEnvironment().makeClient())
        }
        throw code
    }
}
