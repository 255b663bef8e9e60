import Foundation
import TrainyardCore

/// Jobs as their owners see them: submitted, looked up, listed, their events read, stopped.
///
/// ``PostgresStore`` is the service's implementation; ``InMemoryJobRepository`` is its twin for fast tests. Both pass
/// `JobRepositoryContractTests`. What happens to a job once it is granted hosts is ``AttemptRepository``'s, and how it
/// is granted them ``SchedulingQueue``'s.
public protocol JobRepository: Sendable {
    /// Writes a new job and its `created` event (then `note`'s event, if any), with the `job.created` deliveries its
    /// project's subscriptions want, all at once, honouring an `Idempotency-Key`: the same key with the same
    /// `requestHash` replays the first job, with another hash it is refused (it matters only with a key). A name
    /// already used in the project is refused.
    func createJob(projectID: Int64, name: String, spec: JobSpec, idempotencyKey: String?, requestHash: String?, note: JobNote?, now: Date) async throws
        -> JobCreation
    /// The job `name` of a project, or nil: another project's job is as absent as a missing one.
    func job(projectID: Int64, name: String) async throws -> JobRecord?
    /// The job `id`, whatever its project (for the service's own use, never a user's lookup).
    func job(id: Int64) async throws -> JobRecord?
    /// A page of the project's jobs, filtered and sorted, continuing after `query.after` (keyset pagination). The
    /// cursor must be a job of the same project, else ``StoreError/unknownCursor``: compared against another project's
    /// job, the page would tell where that job sorts, and with chosen names, its name.
    func listJobs(projectID: Int64, query: JobListQuery) async throws -> JobPage
    /// The events of a job, in order.
    func events(jobID: Int64) async throws -> [JobEventRecord]
    /// Appends a notable event (no transition) to a job's events, where its owner reads what Trainyard did about it.
    func noteJob(jobID: Int64, type: JobEventType, message: String, now: Date) async throws
    /// How many of the project's jobs wait to run (submitted or `Pending`, no hosts yet), counting at most `upTo`.
    func queuedJobCount(projectID: Int64, upTo limit: Int) async throws -> Int
    /// Stops a job: with no live attempt it ends `Stopped` at once; otherwise it goes `Stopping` and its hosts are
    /// told to stop with `graceSeconds` (SIGTERM, then SIGKILL); the finalizer ends it once they are done. A stop the
    /// job's state refuses throws ``StoreError/transitionRefused(_:)`` and changes nothing.
    func requestStop(projectID: Int64, name: String, reason: StopReason, graceSeconds: Double, now: Date) async throws -> JobRecord
    /// Replaces the job's tags (SageMaker's `AddTags` and `DeleteTags`); false when the project has no such job.
    func replaceTags(projectID: Int64, name: String, tags: [String: String]) async throws -> Bool
    /// Changes the job's `keep_alive_period` at `now` (`PATCH /v1/jobs/{name}`, SageMaker's `UpdateTrainingJob`), and
    /// with `sageMakerRequest` its stored SageMaker request too: an available warm pool takes the new period as
    /// ``WarmPool/updated(keepAlivePeriod:now:)`` says. False when the project has no such job.
    func updateJob(projectID: Int64, name: String, keepAlivePeriod: Int, sageMakerRequest: JSONValue?, now: Date) async throws -> Bool
    /// Deletes an ended job whose attempts have all ended, with its events, attempts, hosts, log lines and metrics: its
    /// name can be used again. Webhook deliveries already made for it stay in the delivery log.
    func deleteJob(projectID: Int64, name: String) async throws -> JobDeletion
}

/// What ``JobRepository/deleteJob(projectID:name:)`` came to.
public enum JobDeletion: Sendable, Equatable {
    case deleted
    case notFound
    /// The job has not ended (or its last attempt is still being finalized): its status.
    case notEnded(JobStatus)
    /// The job ended, but its warm pool is still available: end it first (keep-alive 0).
    case warmPoolAvailable
}

extension JobRepository {
    public func createJob(
        projectID: Int64, name: String, spec: JobSpec, idempotencyKey: String?, requestHash: String?, note: JobNote? = nil
    ) async throws -> JobCreation {
        try await createJob(projectID: projectID, name: name, spec: spec, idempotencyKey: idempotencyKey, requestHash: requestHash, note: note, now: Date())
    }

    public func noteJob(jobID: Int64, type: JobEventType, message: String) async throws {
        try await noteJob(jobID: jobID, type: type, message: message, now: Date())
    }

    public func queuedJobCount(projectID: Int64) async throws -> Int {
        try await queuedJobCount(projectID: projectID, upTo: 1_000_000)
    }

    public func requestStop(projectID: Int64, name: String, reason: StopReason, graceSeconds: Double) async throws -> JobRecord {
        try await requestStop(projectID: projectID, name: name, reason: reason, graceSeconds: graceSeconds, now: Date())
    }

    public func updateJob(projectID: Int64, name: String, keepAlivePeriod: Int, sageMakerRequest: JSONValue? = nil) async throws -> Bool {
        try await updateJob(projectID: projectID, name: name, keepAlivePeriod: keepAlivePeriod, sageMakerRequest: sageMakerRequest, now: Date())
    }
}
