import Foundation
import TrainyardCore

/// What happens to a job once it has hosts: its attempts and their hosts, as the agents report and the controllers
/// judge them (heartbeats, lost leases, reclaims, the backend's word, deadlines, the finalizer's verdict). Every change
/// goes through Core's ``JobAggregate``, as the user's own stop does.
///
/// ``PostgresStore`` is the service's implementation; ``InMemoryJobRepository`` is its twin for fast tests (the same
/// actor holds the jobs, as one aggregate). Both pass `AttemptRepositoryContractTests`, and the controllers' pass tests
/// run on both.
public protocol AttemptRepository: Sendable {
    /// The host an agent token (`<host id>.<secret>`) belongs to, when its secret matches; a host of an ended attempt
    /// still authenticates, so that its agent learns to stop.
    func authenticateAgent(_ token: String) async throws -> HostRecord?
    /// The host with that id, or nil.
    func host(id: String) async throws -> HostRecord?
    /// What the host's agent is to run: its job, attempt number and its gang's host names in ordinal order; nil when
    /// the job no longer exists.
    func assignment(for host: HostRecord) async throws -> HostAssignment?
    /// The attempts of a job with their hosts, oldest first (hosts in ordinal order).
    func attempts(jobID: Int64) async throws -> [AttemptRecord]

    /// Applies an agent's heartbeat: the host's phase moves forward only, its lease is extended to `now +
    /// leaseSeconds`, a spot host's reclaim notice stops its gang within `spotNoticeSeconds`, newly dropped log lines are
    /// told in the job's events, and the aggregate decides the rest. Answers the directive the agent gets. Throws
    /// ``StoreError/jobNotFound(_:)`` for an unknown host.
    func recordHeartbeat(
        hostID: String, report: AgentReport, leaseSeconds: Double, heartbeatSeconds: Double, spotNoticeSeconds: Double, now: Date
    ) async throws -> AgentDirective
    /// Hosts whose lease ran out before `now` are lost (an infrastructure failure naming the host) and the rest of
    /// their gang is stopped. Answers the hosts lost, for the provisioner to tear down.
    func reapExpiredHosts(now: Date) async throws -> [HostRecord]
    /// Gives every live host a lease of at least `seconds` from `now` (after a restart: the server down is not a dead
    /// host).
    func extendLiveLeases(by seconds: Double, now: Date) async throws

    /// Claims the oldest attempt whose hosts are all done (or whose finalizer's claim ran out) for `leaseSeconds`,
    /// with the outcome Core decides for it.
    func claimFinishedAttempt(leaseSeconds: Double, now: Date) async throws -> FinalizeWork?
    /// Gives a claim back: for the next pass to take at once, or from `retryAt` (after a failure, so that the pass
    /// that failed goes on with the others and the attempt is tried again soon, not when the claim would have run out).
    func releaseFinishedAttemptClaim(attemptID: Int64, retryAt: Date?) async throws
    /// Ends a claimed attempt with its outcome and moves the job where it leads; `model` and `output` are the merged
    /// archives, recorded only when this call ends the attempt.
    func finishAttempt(_ work: FinalizeWork, model: UploadedArtifact?, output: UploadedArtifact?, now: Date) async throws
    /// Stops every job whose stored deadline came (oldest first, at most `limit`), as Core judges which limit passed;
    /// a live attempt's hosts get `graceSeconds`. Answers the jobs stopped.
    func enforceDeadlines(graceSeconds: Double, now: Date, limit: Int) async throws -> [DeadlineStop]
    /// Reclaims a live host as a spot provider would: it is marked interrupted and its gang stops within
    /// `noticeSeconds`, with an event naming `reason`.
    func interruptHost(id: String, noticeSeconds: Double, reason: String, now: Date) async throws -> HostInterruption

    /// Records where the provisioner put a host (a process id, a Slurm job and node).
    func setProvisionerReference(hostID: String, reference: String) async throws
    /// Hosts of `provisioner`'s running attempts that have a reference and have not ended, by attempt then ordinal,
    /// with their attempt's stop request.
    func liveProvisionedHosts(provisioner: String) async throws -> [ProvisionedHost]
    /// Of these attempt ids, those whose attempts have not ended.
    func liveAttemptIDs(among ids: Set<Int64>) async throws -> Set<Int64>
    /// Records the references a reconciliation found for hosts that have none.
    func adoptProvisionerReferences(_ references: [String: String]) async throws
    /// Applies what the provisioner says of live hosts (held queued with a reason, placed on a node, taken back, node
    /// failed, gone); answers the hosts judged lost. A reclaim it announces is the caller's to carry out.
    func applyProvisionedStates(_ states: [String: ProvisionedHostState], hosts: [HostRecord], launchLeaseSeconds: Double, now: Date) async throws
        -> [HostRecord]
    /// Hosts their provisioner could not start are lost at once with `reason`; answers the hosts lost.
    func failLaunch(hostIDs: [String], reason: String, now: Date) async throws -> [HostRecord]
}

extension AttemptRepository {
    public func recordHeartbeat(
        hostID: String, report: AgentReport, leaseSeconds: Double, heartbeatSeconds: Double, spotNoticeSeconds: Double = 120
    ) async throws -> AgentDirective {
        try await recordHeartbeat(
            hostID: hostID, report: report, leaseSeconds: leaseSeconds, heartbeatSeconds: heartbeatSeconds, spotNoticeSeconds: spotNoticeSeconds, now: Date())
    }

    public func reapExpiredHosts() async throws -> [HostRecord] { try await reapExpiredHosts(now: Date()) }

    public func extendLiveLeases(by seconds: Double) async throws { try await extendLiveLeases(by: seconds, now: Date()) }

    public func claimFinishedAttempt(leaseSeconds: Double) async throws -> FinalizeWork? {
        try await claimFinishedAttempt(leaseSeconds: leaseSeconds, now: Date())
    }

    public func releaseFinishedAttemptClaim(attemptID: Int64) async throws {
        try await releaseFinishedAttemptClaim(attemptID: attemptID, retryAt: nil)
    }

    public func finishAttempt(_ work: FinalizeWork, model: UploadedArtifact?, output: UploadedArtifact? = nil) async throws {
        try await finishAttempt(work, model: model, output: output, now: Date())
    }

    public func enforceDeadlines(graceSeconds: Double, now: Date = Date()) async throws -> [DeadlineStop] {
        try await enforceDeadlines(graceSeconds: graceSeconds, now: now, limit: 100)
    }

    public func interruptHost(id: String, noticeSeconds: Double, reason: String) async throws -> HostInterruption {
        try await interruptHost(id: id, noticeSeconds: noticeSeconds, reason: reason, now: Date())
    }

    public func applyProvisionedStates(_ states: [String: ProvisionedHostState], hosts: [HostRecord], launchLeaseSeconds: Double) async throws
        -> [HostRecord]
    {
        try await applyProvisionedStates(states, hosts: hosts, launchLeaseSeconds: launchLeaseSeconds, now: Date())
    }

    public func failLaunch(hostIDs: [String], reason: String) async throws -> [HostRecord] {
        try await failLaunch(hostIDs: hostIDs, reason: reason, now: Date())
    }
}
