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
