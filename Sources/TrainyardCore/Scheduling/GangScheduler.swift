/// The scheduler's decisions for one pass over the queue, with no I/O: each queued job, in priority then submission
/// order, either gets all its hosts at once (gang scheduling) or waits `Pending` with a message saying for what. Once
/// a job of a pool (instance type and market) waits, the later jobs of that pool wait behind it, so a large gang is
/// not starved by small ones. The store asks for a decision per job (``decide(_:)``) and reports the allocations it
/// made (``allocated(_:)``): a job it could not allocate after all (no longer queued) uses no capacity.
public struct GangScheduler {
    /// Hosts of one instance type in one market.
    public struct Pool: Hashable, Sendable {
        public var instanceType: String
        public var spot: Bool

        public init(instanceType: String, spot: Bool) {
            self.instanceType = instanceType
            self.spot = spot
        }
    }

    /// What a queued job needs: `count` hosts of `instanceType`, spot or on-demand.
    public struct Gang: Sendable, Equatable {
        public var instanceType: String
        public var count: Int
        public var spot: Bool

        public init(instanceType: String, count: Int, spot: Bool) {
            self.instanceType = instanceType
            self.count = count
            self.spot = spot
        }

        public var pool: Pool { Pool(instanceType: instanceType, spot: spot) }
    }

    /// One job's fate in this pass.
    public enum Decision: Sendable, Equatable {
        /// All its hosts, now.
        case allocate
        /// It waits; `message` says for what (the job's `Pending` message).
        case wait(message: String)
    }

    private var used: [Pool: Int]
    private var warm: [Pool: Int]
    private var blocked: Set<Pool> = []
    private let capacity: (String) -> Capacity

    /// A pass with `inUse` hosts already taken per pool, `warm` more kept in warm pools (reserved for the jobs that
    /// match them, which take them over outside the queue), and `capacity` per instance type (catalog and overrides).
    public init(inUse: [Pool: Int], warm: [Pool: Int] = [:], capacity: @escaping (String) -> Capacity) {
        self.used = inUse.merging(warm, uniquingKeysWith: +)
        self.warm = warm
        self.capacity = capacity
    }

    /// The decision for the next job of the queue.
    public mutating func decide(_ gang: Gang) -> Decision {
        let pool = gang.pool
        let total = capacity(pool.instanceType).hosts(spot: pool.spot)
        let free = max(0, total - used[pool, default: 0])
        let behindAnother = blocked.contains(pool)
        guard behindAnother || free < gang.count else { return .allocate }
        blocked.insert(pool)
        let market = pool.spot ? "spot" : "on-demand"
        if behindAnother && free >= gang.count {
            return .wait(message: "Waiting behind an earlier job for \(gang.count) \(market) \(pool.instanceType) host(s)")
        }
        let kept = warm[pool, default: 0]
        let warmNote = kept > 0 ? " (\(kept) kept in warm pools for the jobs that match them)" : ""
        return .wait(message: "Waiting for \(gang.count) \(market) \(pool.instanceType) host(s): \(free) of \(total) free\(warmNote)")
    }

    /// The pools of `inUse` with no host free: every job of such a pool waits, whatever it asks, with the same message
    /// ``decide(_:)`` gives it, so a pass need not read their queues to decide them.
    public func fullPools() -> Set<Pool> {
        Set(used.compactMap { pool, inUse in capacity(pool.instanceType).hosts(spot: pool.spot) - inUse <= 0 ? pool : nil })
    }

    /// Records that a job took over `hosts` of `pool` kept in a warm pool: in use now, still taken for everyone else.
    public mutating func reused(_ pool: Pool, hosts: Int) {
        warm[pool, default: 0] -= hosts
    }

    /// Records that `gang` got its hosts: they are in use for the rest of the pass.
    public mutating func allocated(_ gang: Gang) {
        used[gang.pool, default: 0] += gang.count
    }
}
