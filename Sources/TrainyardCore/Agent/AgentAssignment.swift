/// What `GET /v1/agent/assignment` answers: the worker's assignment and how to reach the object store.
public struct AgentAssignment: Codable, Sendable, Equatable {
    public var worker: WorkerAssignment
    public var objectStore: ObjectStoreDescriptor
    /// Seconds between system-metric samples (CPU, memory, GPU); absent or 0: none are taken.
    public var systemMetricsIntervalSeconds: Double?

    public init(worker: WorkerAssignment, objectStore: ObjectStoreDescriptor, systemMetricsIntervalSeconds: Double? = nil) {
        self.worker = worker
        self.systemMetricsIntervalSeconds = systemMetricsIntervalSeconds
        self.objectStore = objectStore
    }

    enum CodingKeys: String, CodingKey {
        case worker
        case objectStore = "object_store"
        case systemMetricsIntervalSeconds = "system_metrics_interval_seconds"
    }
}
