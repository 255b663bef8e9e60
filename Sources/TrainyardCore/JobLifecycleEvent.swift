/// Something that happened to a job, fed to ``JobStateMachine/handle(_:now:)``.
public enum JobLifecycleEvent: Sendable, Hashable {
    /// No capacity for the whole gang yet; the message says what is awaited.
    case waitingForCapacity(String)
    /// Capacity was found and hosts are being launched.
    case launching
    /// Hosts are up and being prepared.
    case preparing
    /// Input data is being downloaded.
    case downloading
    /// The training process started.
    case training
    /// Training ended successfully; the model is being uploaded.
    case uploading
    /// The upload finished.
    case completed
    /// The job failed for `reason`.
    case failed(reason: String)
    /// A user asked to stop the job.
    case stopRequested
    /// The job's workers are gone after a stop (or it had none).
    case stopped
    /// The job ran past `max_run`.
    case maxRuntimeExceeded
    /// The job waited and ran past `max_wait`.
    case maxWaitExceeded
    /// The job waited for capacity past `max_pending`.
    case maxPendingExceeded
    /// An attempt ended early (spot reclaim, lost host); the message says why.
    case interrupted(String)
    /// A new attempt starts.
    case restarting
    /// An attempt ended by an infrastructure failure and the job tries again (`max_retry_attempts`): back to
    /// `Starting`, as SageMaker's `RetryStrategy` does.
    case retrying(String)

    /// The event's name, for messages and logs (`stopRequested`, `failed`, …).
    public var name: String {
        switch self {
        case .waitingForCapacity: "waitingForCapacity"
        case .launching: "launching"
        case .preparing: "preparing"
        case .downloading: "downloading"
        case .training: "training"
        case .uploading: "uploading"
        case .completed: "completed"
        case .failed: "failed"
        case .stopRequested: "stopRequested"
        case .stopped: "stopped"
        case .maxRuntimeExceeded: "maxRuntimeExceeded"
        case .maxWaitExceeded: "maxWaitExceeded"
        case .maxPendingExceeded: "maxPendingExceeded"
        case .interrupted: "interrupted"
        case .restarting: "restarting"
        case .retrying: "retrying"
        }
    }
}
