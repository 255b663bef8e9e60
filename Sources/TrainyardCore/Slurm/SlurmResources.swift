/// The Slurm resources one host of an instance type asks for, from the capacity file's `slurm` entry.
///
/// A host is one whole node (`--exclusive`); `cpus` and `memory` narrow it further when set.
public struct SlurmResources: Sendable, Hashable {
    /// The partition on-demand hosts run in (`--partition`); nil: the cluster's default partition.
    public var partition: String?
    /// A preemptible partition spot hosts run in; nil: spot hosts use `partition` when it is preemptible, else none.
    public var spotPartition: String?
    /// Whether `partition` itself is preemptible: its hosts are spot capacity, not on-demand.
    public var preemptible: Bool
    /// `--gres`, e.g. `gpu:8`.
    public var gres: String?
    /// `--constraint`: node features the host needs (`a100&ib`); capacity counts only nodes with all of them.
    public var constraint: String?
    /// `--cpus-per-task`.
    public var cpus: Int?
    /// `--mem`, e.g. `16G`.
    public var memory: String?

    /// Creates a mapping.
    public init(
        partition: String? = nil, spotPartition: String? = nil, preemptible: Bool = false, gres: String? = nil, constraint: String? = nil,
        cpus: Int? = nil, memory: String? = nil
    ) {
        self.partition = partition
        self.spotPartition = spotPartition
        self.preemptible = preemptible
        self.gres = gres
        self.constraint = constraint
        self.cpus = cpus
        self.memory = memory
    }

    /// The partition a host of this market runs in: `.some(nil)` is the default partition; nil: this type has no
    /// capacity in that market.
    public func partition(spot: Bool) -> String?? {
        if spot {
            if let spotPartition { return .some(spotPartition) }
            return preemptible ? .some(partition) : nil
        }
        return preemptible ? nil : .some(partition)
    }
}

/// Which Slurm resources each instance type maps to: per type, or the file's `default.slurm` for the rest.
public struct SlurmMapping: Sendable, Hashable {
    /// Mappings of types with their own `slurm` entry.
    public var byType: [String: SlurmResources]
    /// The mapping of every other type; nil: only types with their own entry run on Slurm.
    public var fallback: SlurmResources?

    /// Creates a mapping.
    public init(byType: [String: SlurmResources] = [:], fallback: SlurmResources? = nil) {
        self.byType = byType
        self.fallback = fallback
    }

    /// The resources of `instanceType`, or nil when it is not mapped.
    public func resources(for instanceType: String) -> SlurmResources? {
        byType[instanceType] ?? fallback
    }

    /// Whether any type is mapped.
    public var isEmpty: Bool { byType.isEmpty && fallback == nil }
}
