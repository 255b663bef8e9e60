/// What `GET /v1/agent/assignment` answers: the worker's assignment and how to reach the object store.
public struct AgentAssignment: Sendable, Equatable {
    public var worker: WorkerAssignment
    public var objectStore: ObjectStoreDescriptor
    /// Seconds between system-metric samples (CPU, memory, GPU); absent or 0: none are taken.
    public var systemMetricsIntervalSeconds: Double?
    /// Seconds the agent keeps trying while the server is unreachable or failing before it stops its command and exits
    /// (`TRAINYARD_AGENT_OUTAGE_LIMIT`); absent: the agent's own setting.
    public var serverOutageLimitSeconds: Double?
    /// The GiB of disk the host's worker directory may hold (the job's `volume_size`, or the service's default); the
    /// agent says so when a volume of that size fills, and where no volume of its own bounds the directory, it stops
    /// the command once the directory passes it. Absent: no bound.
    public var volumeSizeGiB: Int?
    /// Bytes kept free on the disk of the service's data directory (`TRAINYARD_DISK_RESERVE_GIB`): the agent stops its
    /// command before the disk comes down to it. Absent: none.
    public var diskReserveBytes: Int64?
    /// Bytes of log lines not yet shipped that the agent's spool holds at most (`TRAINYARD_LOG_SPOOL_MIB`); lines past
    /// it are dropped and counted. Absent: the agent's default.
    public var logSpoolLimitBytes: Int64?

    public init(
        worker: WorkerAssignment, objectStore: ObjectStoreDescriptor, systemMetricsIntervalSeconds: Double? = nil,
        serverOutageLimitSeconds: Double? = nil, volumeSizeGiB: Int? = nil, diskReserveBytes: Int64? = nil, logSpoolLimitBytes: Int64? = nil
    ) {
        self.volumeSizeGiB = volumeSizeGiB
        self.diskReserveBytes = diskReserveBytes
        self.logSpoolLimitBytes = logSpoolLimitBytes
        self.worker = worker
        self.systemMetricsIntervalSeconds = systemMetricsIntervalSeconds
        self.serverOutageLimitSeconds = serverOutageLimitSeconds
        self.objectStore = objectStore
    }
}
