/// A job's detailed status, with SageMaker's `SecondaryStatus` values.
public enum SecondaryStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Accepted, not yet placed.
    case starting = "Starting"
    /// Waiting for capacity for the whole gang.
    case pending = "Pending"
    /// Hosts are being provisioned.
    case launchingMLInstances = "LaunchingMLInstances"
    /// Hosts are being prepared (image, code).
    case preparingTrainingStack = "PreparingTrainingStack"
    /// Input data is being downloaded.
    case downloading = "Downloading"
    /// The training process runs.
    case training = "Training"
    /// A host was reclaimed (spot) or lost; the attempt ended.
    case interrupted = "Interrupted"
    /// A new attempt is starting from the last checkpoint.
    case restarting = "Restarting"
    /// The model and output are being uploaded.
    case uploading = "Uploading"
    /// The job completed.
    case completed = "Completed"
    /// The job failed.
    case failed = "Failed"
    /// The job is being stopped.
    case stopping = "Stopping"
    /// The job was stopped.
    case stopped = "Stopped"
    /// The job ran past `max_run` and was stopped.
    case maxRuntimeExceeded = "MaxRuntimeExceeded"
    /// The job waited and ran past `max_wait` and was stopped.
    case maxWaitTimeExceeded = "MaxWaitTimeExceeded"
}
