import Foundation
import TrainyardCore

/// The queue of jobs waiting for hosts, and the capacity they wait for: a pass of Core's ``GangScheduler`` over it,
/// and the capacity an admin sets at run time.
///
/// ``PostgresStore`` is the service's implementation (one pass at a time across replicas, under an advisory lock);
/// ``InMemoryJobRepository`` is its twin. Both pass `SchedulingQueueContractTests`.
public protocol SchedulingQueue: Sendable {
    /// One scheduling pass at `now`: reads each pool's first `limit` waiting jobs (priority, then submission order),
    /// the hosts in use and the admins' overrides over `capacity`, and carries out the scheduler's decision for each
    /// job: a new attempt with all its hosts (launching, with `launchLeaseSeconds` to call in), or `Pending` with the
    /// scheduler's message. Behind a pool whose first jobs wait, the rest of its queue not yet `Pending` (up to ten
    /// times `limit` a pool) is made `Pending` too, with its message. A job whose previous attempt is still open waits
    /// for it. `readOverrides` gets the overrides as the pass read them. Answers the gangs to start.
    func schedule(
        capacity: PoolCapacity, provisioner: String, launchLeaseSeconds: Double, now: Date, limit: Int,
        readOverrides: @Sendable ([String: CapacityOverride]) -> Void
    ) async throws -> [LaunchPlan]
    /// The capacity set at run time, by instance type.
    func capacityOverrides() async throws -> [String: CapacityOverride]
    /// Sets an instance type's capacity (a market left nil keeps its figure) and answers the live spot hosts of the
    /// type beyond the new spot capacity, newest first: the hosts the cut takes back.
    func setCapacity(instanceType: String, onDemand: Int?, spot: Int?, now: Date) async throws -> [HostRecord]
    /// The queue and the pool as they stand, for the service's metrics: every job counted by status, the jobs waiting
    /// for hosts per pool (as a pass reads them: queued, with no attempt still open) with the oldest one's submission,
    /// the hosts holding capacity per pool, the hosts of open attempts by phase, and their training so far at `now`.
    /// With `project`, the jobs counted and waiting are that project's alone (what one tenant may see); the hosts are
    /// the pool's, whoever holds them.
    func queueState(project: Int64?, now: Date) async throws -> QueueState
}

extension SchedulingQueue {
    /// The whole queue and pool (every project's jobs) now: what `/metrics` reports.
    public func queueState() async throws -> QueueState { try await queueState(project: nil, now: Date()) }
}

/// What the queue and the pool hold at one moment (``SchedulingQueue/queueState(project:now:)``).
public struct QueueState: Sendable, Equatable {
    public struct StatusKey: Hashable, Sendable {
        public var status: JobStatus
        public var secondaryStatus: SecondaryStatus
        public init(_ status: JobStatus, _ secondaryStatus: SecondaryStatus) {
            self.status = status
            self.secondaryStatus = secondaryStatus
        }
    }

    public struct Waiting: Equatable, Sendable {
        public var count: Int
        public var oldestSubmittedAt: Date
        public init(count: Int, oldestSubmittedAt: Date) {
            self.count = count
            self.oldestSubmittedAt = oldestSubmittedAt
        }
    }

    public var jobs: [StatusKey: Int] = [:]
    /// Jobs waiting for hosts, per pool.
    public var waiting: [GangScheduler.Pool: Waiting] = [:]
    /// Hosts launching or running (not exited, not lost), per pool: the capacity they hold.
    public var inUse: [GangScheduler.Pool: Int] = [:]
    /// Hosts kept in available warm pools, per pool: capacity held for the jobs that match them.
    public var warm: [GangScheduler.Pool: Int] = [:]
    /// Hosts of attempts not ended, by phase.
    public var hosts: [HostPhase: Int] = [:]
    /// Seconds in training so far of the attempts not ended, by project name: goodput's training time not yet counted
    /// (an attempt's is counted when it ends).
    public var trainingInProgress: [String: Double] = [:]

    public init() {}
}

extension SchedulingQueue {
    /// How many jobs of a waiting pool's queue past its first `limit` one pass makes `Pending`.
    static func unannouncedLimit(_ limit: Int) -> Int { max(limit, 1) * 10 }

    /// A pass over each pool's first 100 waiting jobs.
    public func schedule(
        capacity: PoolCapacity, provisioner: String, launchLeaseSeconds: Double, now: Date = Date(),
        readOverrides: @Sendable ([String: CapacityOverride]) -> Void = { _ in }
    ) async throws -> [LaunchPlan] {
        try await schedule(
            capacity: capacity, provisioner: provisioner, launchLeaseSeconds: launchLeaseSeconds, now: now, limit: 100, readOverrides: readOverrides)
    }

    public func setCapacity(instanceType: String, onDemand: Int?, spot: Int?) async throws -> [HostRecord] {
        try await setCapacity(instanceType: instanceType, onDemand: onDemand, spot: spot, now: Date())
    }
}
