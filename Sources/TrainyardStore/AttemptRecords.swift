import Foundation
import TrainyardCore

/// An attempt whose hosts are all done, claimed by one finalizer to merge its outputs and end it.
public struct FinalizeWork: Sendable {
    public var job: JobRecord
    public var attempt: AttemptRecord
    public var outcome: AttemptOutcome

    public init(job: JobRecord, attempt: AttemptRecord, outcome: AttemptOutcome) {
        self.job = job
        self.attempt = attempt
        self.outcome = outcome
    }

    /// How long after a failure to read or finish a claimed attempt it is tried again: a transient failure (a
    /// database restarting, a store briefly away) costs seconds, not the claim's whole lease.
    public static let retryAfterFailureSeconds = 15.0
}

/// A job ``AttemptRepository/enforceDeadlines(graceSeconds:now:limit:)`` stopped, and the limit it passed.
public struct DeadlineStop: Sendable, Equatable {
    public var job: String
    public var project: String
    public var limit: JobLimits.Kind

    public init(job: String, project: String, limit: JobLimits.Kind) {
        self.job = job
        self.project = project
        self.limit = limit
    }
}

/// What asking to reclaim a host came to.
public enum HostInterruption: Sendable, Equatable {
    /// The host's attempt now stops with the notice period; the provisioner is to deliver the notice.
    case interrupted(HostRecord)
    /// No host has that id.
    case notFound
    /// The host or its attempt has already ended (or is ending); nothing to reclaim.
    case notRunning(HostRecord)
}

/// A live host a provisioner placed, with its attempt's stop request.
public struct ProvisionedHost: Sendable, Equatable {
    public var host: HostRecord
    /// When a stop (or `max_run`) was asked of its attempt, and with what grace.
    public var stopRequestedAt: Date?
    public var stopGraceSeconds: Double?
}

/// What the stores write in a job's events and failure reason that Core does not word: one wording for PostgreSQL and
/// its twin.
enum StoreWording {
    /// The event of a job whose warm pool another job took over.
    static func warmPoolTakenOver(by job: String) -> String {
        "Warm pool reused: training job \(job) took over the hosts this job kept"
    }

    /// The event of a job that started on the warm pool `job` kept.
    static func warmPoolTaken(from job: String, hosts: Int, instanceType: String) -> String {
        "Starting on the warm pool training job \(job) kept (\(hosts) \(instanceType) host(s)), without waiting in the queue"
    }

    /// A host whose lease ran out.
    static func leaseExpired(_ host: HostRecord) -> String {
        "InternalServerError: host \(host.name) (\(host.id)) stopped heartbeating; its lease expired"
    }

    /// A host being reclaimed for `reason`, its gang given `noticeSeconds` to sync.
    static func reclaimed(_ host: HostRecord, reason: String, noticeSeconds: Double) -> String {
        "Host \(host.name) (\(host.id)) is being reclaimed: \(reason); the gang syncs its checkpoints within \(Int(noticeSeconds)) s"
    }

    /// A spot host whose own report says its provider sent a reclaim notice.
    static let providerNotice = "its provider sent a reclaim notice"

    /// The message of a `scheduling_failed` event: the database's own words stay in the server's log.
    static let schedulingFailed =
        "Scheduling this job failed on an internal error (the server's log names it); the scheduler tries again on its next pass"
}
