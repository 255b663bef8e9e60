/// What one of a job's events records (`job_events.type`, the `type` of `GET /v1/jobs/{name}/events`).
public enum JobEventType: String, Sendable, Hashable, Codable, CaseIterable {
    /// The job was accepted.
    case created
    /// Its status pair changed (a ``JobTransition``).
    case statusChanged = "status_changed"
    /// A host stopped heartbeating, or its backend says it is gone.
    case hostLost = "host_lost"
    /// A host is being reclaimed (a spot notice).
    case hostInterrupted = "host_interrupted"
    /// Scheduling the job failed on an internal error; the scheduler tries again.
    case schedulingFailed = "scheduling_failed"
    /// A host's agent dropped log lines (its spool full, its disk full).
    case logLinesDropped = "log_lines_dropped"
    /// The job names an image the provisioner does not run.
    case imageNotUsed = "image_not_used"
    /// The job's metric regexes took too long; no more points are extracted.
    case metricExtractionStopped = "metric_extraction_stopped"
    /// A job took over the warm pool another job of its project kept (an event on both).
    case warmPoolReused = "warm_pool_reused"
}
