/// Where a job stands: its status pair plus what the state machine needs to remember.
public struct JobState: Sendable, Hashable, Codable {
    /// The primary status.
    public var status: JobStatus
    /// The detailed status.
    public var secondaryStatus: SecondaryStatus
    /// Why the job failed, once it has.
    public var failureReason: String?
    /// Whether a user asked to stop the job.
    public var stopRequested: Bool
    /// How many times an attempt was interrupted; a `Pending` job restarts only after one.
    public var interruptions: Int

    /// Creates a state, for example from a stored row.
    public init(
        status: JobStatus,
        secondaryStatus: SecondaryStatus,
        failureReason: String? = nil,
        stopRequested: Bool = false,
        interruptions: Int = 0
    ) {
        self.status = status
        self.secondaryStatus = secondaryStatus
        self.failureReason = failureReason
        self.stopRequested = stopRequested
        self.interruptions = interruptions
    }

    /// The state of a job just accepted: `InProgress` / `Starting`.
    public static func submitted() -> JobState {
        JobState(status: .inProgress, secondaryStatus: .starting)
    }

    /// The message of the first secondary status transition of every job.
    public static let submittedMessage = "Starting the training job"

    private enum CodingKeys: String, CodingKey {
        case status
        case secondaryStatus = "secondary_status"
        case failureReason = "failure_reason"
        case stopRequested = "stop_requested"
        case interruptions
    }

    /// Decodes a state; missing optional keys take their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            status: try container.decode(JobStatus.self, forKey: .status),
            secondaryStatus: try container.decode(SecondaryStatus.self, forKey: .secondaryStatus),
            failureReason: try container.decodeIfPresent(String.self, forKey: .failureReason),
            stopRequested: try container.decodeIfPresent(Bool.self, forKey: .stopRequested) ?? false,
            interruptions: try container.decodeIfPresent(Int.self, forKey: .interruptions) ?? 0
        )
    }
}
