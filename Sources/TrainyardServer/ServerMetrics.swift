/// The names of the metrics the server records through swift-metrics, for the backend a process bootstraps.
public enum ServerMetrics {
    /// A timer: each scheduling pass of the store (reading the queue, deciding, writing the allocations and the waits,
    /// under the scheduler's lock; the launches that follow are not in it).
    public static let schedulerPassDuration = "trainyard_scheduler_pass_duration_seconds"
}
