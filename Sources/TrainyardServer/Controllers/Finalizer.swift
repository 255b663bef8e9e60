import Foundation
import ServiceLifecycle
import Logging
import TrainyardCore
import TrainyardObjectStore
import TrainyardProvisioning
import TrainyardStore

/// Ends attempts whose hosts are all done: merges the hosts' `model/` archives into `model.tar.gz` and their
/// `output/data/` archives into `output.tar.gz` (lowest-numbered host wins a clash), then moves the job to where the
/// outcome leads (completed, stopped, failed, or retried) in one transaction.
struct Finalizer: Sendable {
    /// Attempts and hosts (the store, or its twin in tests).
    let attempts: any AttemptRepository
    /// Told when an attempt has ended, so that what it kept holding a token (Slurm's task files) goes.
    let provisioner: any WorkerPoolProvisioner
    let location: ObjectLocation
    let scratchDirectory: String
    let logger: Logger
    /// Where each ended attempt's goodput is counted, by project.
    var metrics: ServiceMetrics?
    /// How long one replica holds an attempt while merging before another may take over.
    static let leaseSeconds = 600.0

    /// Finishes attempts until none is left to claim, or the server shuts down: the attempt under way is finished,
    /// no other is claimed.
    func runOnce(now: Date = Date()) async throws {
        while !Task.isShuttingDownGracefully, let work = try await attempts.claimFinishedAttempt(leaseSeconds: Self.leaseSeconds, now: now) {
            // One attempt that cannot be finished (the database refuses it) must not keep the others waiting: its claim
            // is kept for a few seconds, and it is tried again then.
            do {
                try await finalize(work)
                await provisioner.attemptEnded(attemptID: work.attempt.id)
                await countGoodput(of: work)
            } catch is CancellationError {
                // Shutdown ran out of time mid-merge: the claim goes back at once, from a task the cancellation does not
                // reach (awaited here), so that the next start or another replica finishes the attempt now, not a lease later.
                let attempts = self.attempts
                let attemptID = work.attempt.id
                try? await Task.detached { try await attempts.releaseFinishedAttemptClaim(attemptID: attemptID) }.value
                throw CancellationError()
            } catch {
                logger.error(
                    "finishing an attempt failed; the pass goes on with the others and it is tried again soon",
                    metadata: [
                        "job": "\(work.job.name)", "attempt": "\(work.attempt.number)", "error": "\(LoggedError.describe(error))",
                        "retry_in_seconds": "\(Int(FinalizeWork.retryAfterFailureSeconds))",
                    ])
                // Tried again in seconds (a database that was restarting, a store briefly away), not when the claim
                // would have run out ten minutes later; this pass does not take it again.
                try? await attempts.releaseFinishedAttemptClaim(attemptID: work.attempt.id, retryAt: now.addingTimeInterval(FinalizeWork.retryAfterFailureSeconds))
            }
        }
    }

    /// Adds what the ended attempt changed in its job's goodput to the project's counters: the job's figures with it,
    /// less those without it (Core's arithmetic both times). A read that fails costs the figures, never the attempt.
    private func countGoodput(of work: FinalizeWork) async {
        guard let metrics else { return }
        do {
            let upTo = try await attempts.attempts(jobID: work.job.id).filter { $0.number <= work.attempt.number }
            let now = Date()
            let earlier = upTo.filter { $0.number < work.attempt.number }.map(\.goodput)
            let all = upTo.map(\.goodput)
            metrics.attemptEnded(
                project: work.job.projectName, before: Goodput.of(earlier, jobEndedAt: nil, now: now), after: Goodput.of(all, jobEndedAt: nil, now: now),
                runAdded: Goodput.runSeconds(all) - Goodput.runSeconds(earlier))
        } catch {
            logger.warning(
                "counting an ended attempt's goodput failed", metadata: ["job": "\(work.job.name)", "attempt": "\(work.attempt.number)", "error": "\(error)"])
        }
    }

    func finalize(_ work: FinalizeWork) async throws {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(work.job.name)"
        logger[metadataKey: "attempt"] = "\(work.attempt.number)"
        var model: UploadedArtifact?
        var output: UploadedArtifact?
        switch work.outcome {
        // An interrupted attempt's outputs are merged too: should max_wait end the job before another attempt
        // finishes, its outputs so far are what the job leaves.
        case .completed, .stopped, .maxRuntimeExceeded, .maxWaitExceeded, .interrupted:
            let paths = work.job.paths
            let merger = ArchiveMerger(location: location, scratchDirectory: scratchDirectory, logger: logger)
            let hosts = work.attempt.hosts.sorted { $0.ordinal < $1.ordinal }
            // Only where this server told each agent to upload, whatever an agent reports: a report naming another
            // object (another project's model, a file of the server's host) would have it copied into this job's output.
            let models = hosts.compactMap { host in
                host.modelArchive.map { _ in (host: host.name, uri: paths.hostArchive(attempt: work.attempt.number, host: host.name, .model)) }
            }
            let outputs = hosts.compactMap { host in
                host.outputArchive.map { _ in (host: host.name, uri: paths.hostArchive(attempt: work.attempt.number, host: host.name, .output)) }
            }
            for host in hosts {
                for (reported, archive) in [(host.modelArchive, JobPaths.Archive.model), (host.outputArchive, .output)] {
                    if let reported, reported != paths.hostArchive(attempt: work.attempt.number, host: host.name, archive) {
                        logger.warning(
                            "an agent reported an archive elsewhere than it was told; only the assigned location is read",
                            metadata: ["host": "\(host.name)", "reported": "\(reported)"])
                    }
                }
            }
            do {
                if !models.isEmpty { model = Self.uploaded(try await merger.merge(models, into: paths.artifact(.model))) }
                if !outputs.isEmpty { output = Self.uploaded(try await merger.merge(outputs, into: paths.artifact(.output))) }
            } catch {
                logger.error("merging the hosts' outputs failed", metadata: ["error": "\(LoggedError.describe(error))"])
                if case .interrupted = work.outcome {
                    // The checkpoints are what a restart needs; a later attempt uploads the model again.
                    try await attempts.finishAttempt(work, model: nil)
                    return
                }
                let reason = "InternalServerError: uploading the model failed: \(error)"
                try await attempts.finishAttempt(FinalizeWork(job: work.job, attempt: work.attempt, outcome: .failed(reason: reason)), model: nil)
                return
            }
        case .retry, .failed:
            break
        }
        try await attempts.finishAttempt(work, model: model, output: output)
        logger.info("attempt finished", metadata: ["outcome": "\(work.outcome)"])
    }

    static func uploaded(_ archive: MergedArchive) -> UploadedArtifact {
        UploadedArtifact(uri: archive.uri, sizeBytes: archive.sizeBytes, sha256: archive.sha256)
    }
}
