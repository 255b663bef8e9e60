import Foundation

/// One accepted change of a job's state, as ``JobStateMachine/handle(_:now:)`` decides it:
/// what to record in `secondary_status_transitions` and the events.
public struct JobTransition: Sendable, Hashable {
    /// The primary status before.
    public var fromStatus: JobStatus
    /// The secondary status before.
    public var fromSecondaryStatus: SecondaryStatus
    /// The primary status after.
    public var toStatus: JobStatus
    /// The secondary status after.
    public var toSecondaryStatus: SecondaryStatus
    /// SageMaker's status message for the new secondary status.
    public var message: String
    /// When it happened.
    public var time: Date
    /// Whether the job has ended with this transition.
    public var isTerminal: Bool

    /// Creates a transition.
    public init(
        fromStatus: JobStatus,
        fromSecondaryStatus: SecondaryStatus,
        toStatus: JobStatus,
        toSecondaryStatus: SecondaryStatus,
        message: String,
        time: Date
    ) {
        self.fromStatus = fromStatus
        self.fromSecondaryStatus = fromSecondaryStatus
        self.toStatus = toStatus
        self.toSecondaryStatus = toSecondaryStatus
        self.message = message
        self.time = time
        self.isTerminal = toStatus.isTerminal
    }

    /// The status pair before.
    public var from: (status: JobStatus, secondaryStatus: SecondaryStatus) {
        (fromStatus, fromSecondaryStatus)
    }

    /// Whether the primary status changed (a `job.completed`, `job.failed`, `job.stopped` webhook).
    public var changesStatus: Bool { fromStatus != toStatus }
}
