/// What `GET /v1/agent/assignment` answers: the worker's assignment and how to reach the object store.
public struct AgentAssignment: Codable, Sendable, Equatable {
    public var worker: WorkerAssignment
    public var objectStore: ObjectStoreDescriptor
    /// Seconds between system-metric samples (CPU, memory, GPU); absent or 0: none are taken.
    public var systemMetricsIntervalSeconds: Double?
    /// Seconds the agent keeps trying while the server is unreachable or failing before it stops its command and exits
    /// (`TRAINYARD_AGENT_OUTAGE_LIMIT`); absent: the agent's own setting.
    public var serverOutageLimitSeconds: Double?

    public init(
        worker: WorkerAssignment, objectStore: ObjectStoreDescriptor, systemMetricsIntervalSeconds: Double? = nil, serverOutageLimitSeconds: Double? = nil
    ) {
        self.worker = worker
        self.systemMetricsIntervalSeconds = systemMetricsIntervalSeconds
        self.serverOutageLimitSeconds = serverOutageLimitSeconds
        self.objectStore = objectStore
    }

    enum CodingKeys: String, CodingKey {
        case worker
        case objectStore = "object_store"
        case systemMetricsIntervalSeconds = "system_metrics_interval_seconds"
        case serverOutageLimitSeconds = "server_outage_limit_seconds"
    }
}
