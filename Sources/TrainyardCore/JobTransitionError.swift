/// Why ``JobStateMachine`` refused an event.
public enum JobTransitionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The job has ended; nothing changes it any more.
    case terminal(JobStatus)
    /// The event makes no sense in the job's current secondary status.
    case notAllowed(from: SecondaryStatus, event: JobLifecycleEvent)
    /// A stop was already requested; the API answers this one as an idempotent `202`.
    case alreadyStopping

    /// What happened, for logs and problem details.
    public var description: String {
        switch self {
        case .terminal(let status):
            "The job has already ended with status \(status.rawValue)."
        case .notAllowed(let from, let event):
            "The job cannot go from \(from.rawValue) on \(event.name)."
        case .alreadyStopping:
            "The job is already stopping."
        }
    }
}
