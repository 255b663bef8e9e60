import Foundation
import TrainyardCore

/// Runs Slurm's client tools (`sbatch`, `squeue`, `sinfo`, `scancel`) with the configured `SLURM_CONF`.
struct SlurmCommandLine: Sendable {
    /// `SLURM_CONF`, or nil for the system default (`/etc/slurm/slurm.conf`).
    let configurationFile: String?
    /// Where the tools are; nil: looked up on `PATH`.
    let binDirectory: String?
    /// Seconds one call may take before it is abandoned (slurmctld unreachable).
    let timeoutSeconds: Double

    /// The tool's standard output; a non-zero exit is an error carrying its standard error.
    /// With `account`, the tool runs as that user (its own groups, no new privileges), as the user's own call would:
    /// Slurm then holds the job as the user's, with the user's limits and accounting.
    func run(_ tool: String, _ arguments: [String], environment extra: [String: String] = [:], as account: SlurmAccount? = nil) async throws -> String {
        let process = Process()
        var command = binDirectory.map { ["\($0)/\(tool)"] } ?? ["/usr/bin/env", tool]
        if let account {
            command = ["/usr/bin/setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups", "--no-new-privs", "--"] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst()) + arguments
        // sbatch exports its environment to the job: only the basics of the server's, never the operator's secrets.
        var environment = ProcessInfo.processInfo.environment.filter { LocalProcessProvisioner.inheritedVariables.contains($0.key) }
        if let account { environment.merge(account.environment) { $1 } }
        if let configurationFile { environment["SLURM_CONF"] = configurationFile }
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        // How the tool ended, read in the termination handler: once the tool has exited. (Reading it after a
        // cancelled wait, with the tool perhaps still running, is a trap in Foundation.)
        let exited = AsyncStream<(status: Int32, signalled: Bool)>.makeStream()
        process.terminationHandler = { exited.continuation.yield(($0.terminationStatus, $0.terminationReason == .uncaughtSignal)) }
        do {
            try process.run()
        } catch {
            throw SlurmError.toolMissing(tool: tool, reason: "\(error)")
        }
        // Read both pipes while the tool runs (a full pipe would block it), each on a thread of its own: a blocking
        // read on the concurrency pool held one of its threads (as many as cores) for as long as the tool ran, and
        // two slow calls on a 2-core server stopped everything else, this call's own timeout included.
        async let out = Self.readToEnd(output.fileHandleForReading)
        async let err = Self.readToEnd(errors.fileHandleForReading)
        let timeout = Task {
            try await Task.sleep(for: .milliseconds(Int(timeoutSeconds * 1000)))
            process.terminate()
        }
        var ending: (status: Int32, signalled: Bool)?
        // A cancelled caller (a controller stopping on graceful shutdown) ends the tool at once rather than waiting
        // out its timeout on a slurmctld that does not answer.
        await withTaskCancellationHandler {
            for await end in exited.stream {
                ending = end
                break
            }
        } onCancel: {
            process.terminate()
        }
        timeout.cancel()
        // The pipes end when the tool has exited (the terminated one too).
        let (stdout, stderr) = await (out, err)
        guard let ending else { throw CancellationError() }
        guard ending.status == 0 else {
            let message = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if ending.signalled { throw SlurmError.timedOut(tool: tool, seconds: timeoutSeconds) }
            throw SlurmError.failed(tool: tool, status: ending.status, message: message)
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}

extension SlurmCommandLine {
    /// What `handle` yields until its end, read on a thread outside the concurrency pool.
    static func readToEnd(_ handle: FileHandle) async -> Data {
        await BlockingWork.run { handle.readDataToEndOfFile() }
    }
}

/// Why a call to Slurm failed, with what to do about it.
public enum SlurmError: Error, CustomStringConvertible {
    case toolMissing(tool: String, reason: String)
    case failed(tool: String, status: Int32, message: String)
    case timedOut(tool: String, seconds: Double)
    case unexpectedOutput(tool: String, reason: String)
    case unmapped(instanceType: String, spot: Bool)
    case noUser(project: String)
    case unknownUser(user: String, project: String)
    case files(path: String, reason: String)

    public var description: String {
        switch self {
        case .toolMissing(let tool, let reason):
            "Slurm's \(tool) cannot be started (\(reason)); install slurm-client (scripts/bootstrap does) or set TRAINYARD_SLURM_BIN"
        case .failed(let tool, let status, let message):
            "\(tool) exited with \(status): \(message); check SLURM_CONF and that slurmctld answers (scontrol ping)"
        case .timedOut(let tool, let seconds):
            "\(tool) did not answer within \(Int(seconds)) s; check that slurmctld answers (scontrol ping)"
        case .unexpectedOutput(let tool, let reason):
            "\(tool) printed what Trainyard cannot read (\(reason)); Trainyard needs Slurm 22.05 or later"
        case .unmapped(let type, let spot):
            "\(type) has no Slurm \(spot ? "spot (preemptible)" : "on-demand") partition in the capacity file; add a slurm entry "
                + #"for it (e.g. "default": {"slurm": {"partition": "batch"}})"#
        case .noUser(let project):
            "project \(project) maps to no Slurm user in TRAINYARD_SLURM_USERS; the service's operator adds \(project)=<user> (or *=<user>)"
        case .unknownUser(let user, let project):
            "Slurm user \(user) (project \(project), TRAINYARD_SLURM_USERS) does not exist on the service's host; the operator creates it "
                + "(with the same uid as on the nodes) or maps the project to another user"
        case .files(let path, let reason):
            "the attempt's files at \(path) cannot be given to the job's Slurm user: \(reason)"
        }
    }
}
