/// A job's primary status, with SageMaker's `TrainingJobStatus` values.
public enum JobStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting, starting, running or uploading.
    case inProgress = "InProgress"
    /// Finished and uploaded its model.
    case completed = "Completed"
    /// Failed; `failure_reason` says why.
    case failed = "Failed"
    /// A stop was requested and the workers are being stopped.
    case stopping = "Stopping"
    /// Stopped by a user or by `max_run` / `max_wait`.
    case stopped = "Stopped"

    /// Whether the job has ended: `Completed`, `Failed` or `Stopped`.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .stopped: true
        case .inProgress, .stopping: false
        }
    }
}
