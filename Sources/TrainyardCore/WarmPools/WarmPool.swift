import Foundation

/// Where a job's warm pool stands (SageMaker `WarmPoolStatus.Status`).
public enum WarmPoolStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The job ended and its hosts are kept for the next matching job until the keep-alive period ends.
    case available = "Available"
    /// The job runs on a pool an earlier job kept.
    case inUse = "InUse"
    /// A matching job took the pool over.
    case reused = "Reused"
    /// The pool is gone: its keep-alive period ended, its user ended it, or the job ended in a way that leaves no healthy
    /// hosts to keep.
    case terminated = "Terminated"
}

/// A job's warm pool (SageMaker managed warm pools): after a job with `keep_alive_period` > 0 ends, its hosts stay
/// reserved for `keep_alive_period` seconds; the next job of the same project that matches it (``WarmPoolMatch``) takes
/// them over without waiting in the queue, and the pool moves on with it. While kept, the hosts count as in use for
/// everyone else.
public struct WarmPool: Sendable, Hashable {
    public var status: WarmPoolStatus
    /// When the job ended and its hosts were kept; nil while the job runs on a pool (``WarmPoolStatus/inUse``).
    public var retainedAt: Date?
    /// When an ``WarmPoolStatus/available`` pool ends unless a matching job takes it first.
    public var expiresAt: Date?
    /// When the pool was taken over or ended.
    public var releasedAt: Date?
    /// The job that took the pool over.
    public var reusedByJob: String?

    public init(status: WarmPoolStatus, retainedAt: Date? = nil, expiresAt: Date? = nil, releasedAt: Date? = nil, reusedByJob: String? = nil) {
        self.status = status
        self.retainedAt = retainedAt
        self.expiresAt = expiresAt
        self.releasedAt = releasedAt
        self.reusedByJob = reusedByJob
    }

    /// The pool a job that ended at `now` leaves: ``WarmPoolStatus/available`` until `keepAlivePeriod` seconds from now
    /// when its hosts are healthy (SageMaker keeps the pool of a job that completed, was stopped or failed in its own
    /// code), ``WarmPoolStatus/terminated`` when a host was lost (the cluster's health is in doubt), or when the job ran
    /// on a pool (`onPool`) but asks for none now (its period set to 0 meanwhile); nil when it neither asked for one
    /// nor ran on one.
    public static func left(keepAlivePeriod: Int, hostPhases: [HostPhase], onPool: Bool = false, now: Date) -> WarmPool? {
        guard keepAlivePeriod > 0 else { return onPool ? .terminated(at: now) : nil }
        guard !hostPhases.contains(.lost) else { return .terminated(at: now) }
        return WarmPool(status: .available, retainedAt: now, expiresAt: now.addingTimeInterval(Double(keepAlivePeriod)))
    }

    /// A pool that ends as it is left, at `now`: no host was kept.
    public static func terminated(at now: Date) -> WarmPool {
        WarmPool(status: .terminated, retainedAt: now, releasedAt: now)
    }

    /// Whether the pool has outlived its keep-alive period at `now`: it ends then, as it was at its expiry.
    public func hasExpired(at now: Date) -> Bool {
        status == .available && (expiresAt.map { $0 <= now } ?? true)
    }

    /// The pool as it stands at `now`: an available one past its expiry has ended then, whether or not a scheduling
    /// pass has recorded it yet.
    public func asOf(_ now: Date) -> WarmPool {
        guard hasExpired(at: now) else { return self }
        return WarmPool(status: .terminated, retainedAt: retainedAt, releasedAt: expiresAt ?? now)
    }

    /// The pool once its job's `keep_alive_period` becomes `keepAlivePeriod` at `now` (SageMaker `UpdateTrainingJob`):
    /// an available pool then ends that many seconds after its job ended, at once when that is past (0 ends it now); a
    /// pool in any other state is as it was.
    public func updated(keepAlivePeriod: Int, now: Date) -> WarmPool {
        guard status == .available, let retainedAt else { return self }
        let expiry = retainedAt.addingTimeInterval(Double(keepAlivePeriod))
        guard keepAlivePeriod > 0, expiry > now else {
            return WarmPool(status: .terminated, retainedAt: retainedAt, releasedAt: now)
        }
        return WarmPool(status: .available, retainedAt: retainedAt, expiresAt: expiry)
    }

    /// Wall-clock seconds the hosts were kept waiting (SageMaker `ResourceRetainedBillableTimeInSeconds`, per host):
    /// from the job's end to the pool's takeover or end, or to `now` while it is available; nil while the job runs.
    public func retainedSeconds(now: Date) -> Int? {
        guard let retainedAt else { return nil }
        let end: Date
        if let releasedAt {
            end = releasedAt
        } else {
            end = min(now, expiresAt ?? now)
        }
        return max(0, Int(end.timeIntervalSince(retainedAt).rounded(.down)))
    }
}

/// What a job must share with a kept pool to take it over (SageMaker's matching rules, for what Trainyard has): the
/// project (a pool never crosses tenants), the instance type and count, the market and the volume size; and the job
/// itself must ask for a pool (`keep_alive_period` > 0), which it then keeps for its own period.
public struct WarmPoolMatch: Sendable, Hashable {
    public var projectID: Int64
    public var instanceType: String
    public var instanceCount: Int
    public var spot: Bool
    public var volumeSize: Int?

    public init(projectID: Int64, instanceType: String, instanceCount: Int, spot: Bool, volumeSize: Int?) {
        self.projectID = projectID
        self.instanceType = instanceType
        self.instanceCount = instanceCount
        self.spot = spot
        self.volumeSize = volumeSize
    }

    /// What a queued job with these settings matches; nil when it asks for no pool (`keepAlivePeriod` 0) and so takes
    /// none over.
    public init?(projectID: Int64, instanceType: String, instanceCount: Int, spot: Bool, volumeSize: Int?, keepAlivePeriod: Int) {
        guard keepAlivePeriod > 0 else { return nil }
        self.init(projectID: projectID, instanceType: instanceType, instanceCount: instanceCount, spot: spot, volumeSize: volumeSize)
    }

    /// What a job of `projectID` with `spec` matches; nil when it asks for no pool and so takes none over.
    public init?(projectID: Int64, spec: JobSpec) {
        self.init(
            projectID: projectID, instanceType: spec.instanceType, instanceCount: spec.instanceCount, spot: spec.useSpotInstances,
            volumeSize: spec.volumeSize, keepAlivePeriod: spec.keepAlivePeriod)
    }

    /// The scheduler's pool (type and market) whose hosts it holds.
    public var pool: GangScheduler.Pool { GangScheduler.Pool(instanceType: instanceType, spot: spot) }
}
