/// How many hosts of each instance type and market the pool has: the one capacity model, read by the job validator,
/// the API's descriptions and the admin's capacity call, and the scheduler.
///
/// A type's figure is the capacity file's (the catalog), replaced by the provisioner's own count where it reports one
/// (Slurm's nodes, from `sinfo`), with an admin's ``CapacityOverride`` (`PUT /v1/admin/capacity`) over either.
public struct PoolCapacity: Sendable, Equatable {
    public var catalog: InstanceCatalog
    /// What the provisioner counts now, per type; nil when it keeps no count of its own (the local provisioner).
    public var reported: [String: Capacity]?
    /// What admins set at run time, per type.
    public var overrides: [String: CapacityOverride]

    public init(catalog: InstanceCatalog, reported: [String: Capacity]? = nil, overrides: [String: CapacityOverride] = [:]) {
        self.catalog = catalog
        self.reported = reported
        self.overrides = overrides
    }

    /// The hosts of type `name` the pool has now.
    public func capacity(of name: String) -> Capacity {
        let base = reported?[name] ?? catalog.capacity(of: name)
        return overrides[name]?.applied(to: base) ?? base
    }

    /// The most hosts of type `name` the pool is made to have, per market: the largest of the capacity file's figure,
    /// the provisioner's count and an admin's override. A gang above it could never be scheduled and is refused at
    /// submission. A figure below it is a passing shortage (spot capacity taken back, nodes drained, an admin's cut):
    /// jobs are accepted and wait `Pending` for it, as SageMaker's spot jobs wait for capacity up to `max_wait`.
    public func ceiling(of name: String) -> Capacity {
        var ceiling = catalog.capacity(of: name)
        for other in [reported?[name], overrides[name]?.applied(to: ceiling)].compactMap(\.self) {
            ceiling.onDemand = max(ceiling.onDemand, other.onDemand)
            ceiling.spot = max(ceiling.spot, other.spot)
        }
        return ceiling
    }
}

/// Capacity set at run time (`PUT /v1/admin/capacity`) over the capacity file's or the provisioner's; nil keeps that
/// figure.
public struct CapacityOverride: Sendable, Equatable {
    public var onDemand: Int?
    public var spot: Int?

    public init(onDemand: Int?, spot: Int?) {
        self.onDemand = onDemand
        self.spot = spot
    }

    /// `base` with this override's figures in place of its own.
    public func applied(to base: Capacity) -> Capacity {
        var capacity = base
        if let onDemand { capacity.onDemand = onDemand }
        if let spot { capacity.spot = spot }
        return capacity
    }
}
