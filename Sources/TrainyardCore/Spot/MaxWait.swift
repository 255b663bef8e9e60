import Foundation

/// `max_wait` (SageMaker `MaxWaitTimeInSeconds`): a spot job's budget for waiting plus running over all its attempts,
/// counted from its creation.
public enum MaxWait {
    /// When the job's budget runs out; nil for a job without `max_wait`.
    public static func deadline(of spec: JobSpec, createdAt: Date) -> Date? {
        guard spec.useSpotInstances, let seconds = spec.maxWait else { return nil }
        return createdAt.addingTimeInterval(Double(seconds))
    }

    /// Whether the job has waited and run past its budget at `now`.
    public static func isExceeded(spec: JobSpec, createdAt: Date, now: Date) -> Bool {
        guard let deadline = deadline(of: spec, createdAt: createdAt) else { return false }
        return now >= deadline
    }
}
