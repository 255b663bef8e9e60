import Testing
import TrainyardCore

/// The one capacity model: the file's figure, the provisioner's count over it, an admin's override over either; and
/// the ceiling a gang is judged against at submission.
@Suite struct PoolCapacityTests {
    static let catalog = InstanceCatalog.standard.settingCapacity(Capacity(onDemand: 4, spot: 2), for: "ml.m5.large")

    @Test func theFileTheClusterAndTheAdminEachReplaceWhatIsBelowThem() {
        var pool = PoolCapacity(catalog: Self.catalog)
        #expect(pool.capacity(of: "ml.m5.large") == Capacity(onDemand: 4, spot: 2))
        pool.reported = ["ml.m5.large": Capacity(onDemand: 16, spot: 0)]
        #expect(pool.capacity(of: "ml.m5.large") == Capacity(onDemand: 16, spot: 0))
        // A type the provisioner does not count keeps the file's figure.
        #expect(pool.capacity(of: "ml.c5.xlarge") == Self.catalog.capacity(of: "ml.c5.xlarge"))
        pool.overrides = ["ml.m5.large": CapacityOverride(onDemand: nil, spot: 3)]
        #expect(pool.capacity(of: "ml.m5.large") == Capacity(onDemand: 16, spot: 3))
    }

    @Test func theCeilingIsTheLargestFigureSoAPassingCutDoesNotRefuseJobs() {
        var pool = PoolCapacity(catalog: Self.catalog, overrides: ["ml.m5.large": CapacityOverride(onDemand: 12, spot: 0)])
        // Raised by an admin: the larger figure; cut: the file's still.
        #expect(pool.ceiling(of: "ml.m5.large") == Capacity(onDemand: 12, spot: 2))
        pool.reported = ["ml.m5.large": Capacity(onDemand: 1, spot: 9)]
        #expect(pool.ceiling(of: "ml.m5.large") == Capacity(onDemand: 12, spot: 9))
        #expect(pool.capacity(of: "ml.m5.large") == Capacity(onDemand: 12, spot: 0))
    }

    @Test func theValidatorJudgesGangsAgainstTheCeiling() {
        let provisioner = ProvisionerCapabilities(name: "local")
        var spec = JobSpec(name: "big", command: ["true"], instanceType: "ml.m5.large")
        spec.instanceCount = 8
        // The file alone has 4: refused, with what the user can do.
        let refused = JobSpecValidator(catalog: Self.catalog, provisioner: provisioner).validate(spec)
        #expect(refused.map(\.rule) == ["capacity"])
        #expect(
            refused.first?.message
                == "instance_count is 8, but the pool never has more than 4 on-demand ml.m5.large hosts; a larger gang could never be scheduled. "
                + "Use at most 4 hosts.")
        // A cluster of 16 nodes, or an admin who grew the pool to 8: accepted.
        let cluster = PoolCapacity(catalog: Self.catalog, reported: ["ml.m5.large": Capacity(onDemand: 16, spot: 0)])
        #expect(JobSpecValidator(catalog: Self.catalog, provisioner: provisioner, capacity: cluster).validate(spec) == [])
        let grown = PoolCapacity(catalog: Self.catalog, overrides: ["ml.m5.large": CapacityOverride(onDemand: 8, spot: nil)])
        #expect(JobSpecValidator(catalog: Self.catalog, provisioner: provisioner, capacity: grown).validate(spec) == [])
        // A spot job while spot capacity is cut to 0 is accepted: it waits, up to its max_wait.
        spec.instanceCount = 2
        spec.useSpotInstances = true
        spec.maxRun = 3600
        spec.maxWait = 7200
        let cut = PoolCapacity(catalog: Self.catalog, overrides: ["ml.m5.large": CapacityOverride(onDemand: nil, spot: 0)])
        #expect(JobSpecValidator(catalog: Self.catalog, provisioner: provisioner, capacity: cut).validate(spec) == [])
    }
}
