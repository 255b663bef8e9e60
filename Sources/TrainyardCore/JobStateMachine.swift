import Foundation

/// Decides how a job's state changes on each ``JobLifecycleEvent``; it does no I/O and
/// takes the time as a parameter.
///
/// The walk, with SageMaker's secondary statuses:
///
/// - `Starting` → (`Pending` ⇄) `LaunchingMLInstances` → `PreparingTrainingStack` →
///   `Downloading` → `Training` → `Uploading` → `Completed`.
/// - `failed` from any state that has not ended → `Failed`/`Failed`.
/// - `stopRequested` from any `InProgress` state → `Stopping`/`Stopping`; a second one is
///   refused as ``JobTransitionError/alreadyStopping``.
/// - `stopped` from `Stopping`, or straight from `InProgress` (a job without workers yet)
///   → `Stopped`/`Stopped`.
/// - `maxRuntimeExceeded` from `PreparingTrainingStack`, `Downloading`, `Training`,
///   `Uploading` or `Stopping` → `Stopped`/`MaxRuntimeExceeded`.
/// - `maxWaitExceeded` from any state that has not ended → `Stopped`/`MaxWaitTimeExceeded`.
/// - `maxPendingExceeded` from a job waiting for capacity (`Starting`, `Pending`, `Interrupted`, `Restarting`) or
///   `Stopping` → `Stopped`/`Stopped` (SageMaker has no secondary status of its own for it; the message says why).
/// - `interrupted` from `LaunchingMLInstances` … `Uploading` → `Interrupted`; then
///   `Pending` while there is no capacity, or `Restarting`; `Restarting` →
///   `LaunchingMLInstances`, `PreparingTrainingStack`, `Downloading` or `Training` (or back
///   to `Pending`).
///
/// Ended jobs refuse every event with ``JobTransitionError/terminal(_:)``; other illegal
/// pairs with ``JobTransitionError/notAllowed(from:event:)``.
public struct JobStateMachine: Sendable, Hashable {
    /// The current state.
    public private(set) var state: JobState

    /// Creates a machine at `state` (by default a just-submitted job).
    public init(state: JobState = .submitted()) {
        self.state = state
    }

    /// Applies `event` at `now`, updating ``state``, and returns the transition to record.
    /// Throws without changing anything when the event is not allowed.
    public mutating func handle(
        _ event: JobLifecycleEvent,
        now: Date
    ) throws(JobTransitionError) -> JobTransition {
        let (status, secondary, message) = try Self.target(of: event, in: state)
        let transition = JobTransition(
            fromStatus: state.status,
            fromSecondaryStatus: state.secondaryStatus,
            toStatus: status,
            toSecondaryStatus: secondary,
            message: message,
            time: now
        )
        state.status = status
        state.secondaryStatus = secondary
        switch event {
        case .failed(let reason): state.failureReason = reason
        case .stopRequested: state.stopRequested = true
        case .interrupted: state.interruptions += 1
        default: break
        }
        return transition
    }

    /// Whether `event` would be accepted now.
    public func accepts(_ event: JobLifecycleEvent) -> Bool {
        (try? Self.target(of: event, in: state)) != nil
    }

    /// The status pair and message `event` leads to from `state`, or why it cannot.
    static func target(
        of event: JobLifecycleEvent,
        in state: JobState
    ) throws(JobTransitionError) -> (JobStatus, SecondaryStatus, String) {
        guard !state.status.isTerminal else { throw .terminal(state.status) }
        let from = state.secondaryStatus
        let running = state.status == .inProgress
        func require(_ allowed: Set<SecondaryStatus>) throws(JobTransitionError) {
            guard running, allowed.contains(from) else { throw .notAllowed(from: from, event: event) }
        }
        switch event {
        case .waitingForCapacity(let detail):
            try require([.starting, .launchingMLInstances, .interrupted, .restarting])
            return (.inProgress, .pending, detail.isEmpty ? "Waiting for capacity" : detail)
        case .launching:
            try require([.starting, .pending, .restarting])
            return (.inProgress, .launchingMLInstances, "Launching requested ML instances")
        case .preparing:
            try require([.launchingMLInstances, .restarting])
            return (.inProgress, .preparingTrainingStack, "Preparing the instances for training")
        case .downloading:
            try require([.preparingTrainingStack, .restarting])
            return (.inProgress, .downloading, "Downloading input data")
        case .training:
            try require([.downloading, .restarting])
            return (.inProgress, .training, "Training image download completed. Training in progress.")
        case .uploading:
            try require([.training])
            return (.inProgress, .uploading, "Uploading generated training model")
        case .completed:
            try require([.uploading])
            return (.completed, .completed, "Training job completed")
        case .failed(let reason):
            return (.failed, .failed, reason.isEmpty ? "Training job failed" : "Training job failed. Reason: \(reason)")
        case .stopRequested:
            guard running else { throw .alreadyStopping }
            return (.stopping, .stopping, "Stopping the training job")
        case .stopped:
            return (.stopped, .stopped, "Training job stopped")
        case .maxRuntimeExceeded:
            let allowed: Set<SecondaryStatus> = [.preparingTrainingStack, .downloading, .training, .uploading, .stopping]
            guard allowed.contains(from) else { throw .notAllowed(from: from, event: event) }
            return (.stopped, .maxRuntimeExceeded, "Training job stopped: it ran longer than max_run (MaxRuntimeInSeconds)")
        case .maxWaitExceeded:
            return (
                .stopped, .maxWaitTimeExceeded,
                "Training job stopped: it waited and ran longer than max_wait (MaxWaitTimeInSeconds)"
            )
        case .maxPendingExceeded:
            let allowed: Set<SecondaryStatus> = [.starting, .pending, .interrupted, .restarting, .stopping]
            guard allowed.contains(from) else { throw .notAllowed(from: from, event: event) }
            return (
                .stopped, .stopped,
                "Training job stopped: it waited for capacity longer than max_pending (MaxPendingTimeInSeconds)"
            )
        case .interrupted(let detail):
            try require([.launchingMLInstances, .preparingTrainingStack, .downloading, .training, .uploading])
            return (.inProgress, .interrupted, detail.isEmpty ? "Training job interrupted" : detail)
        case .retrying(let detail):
            try require([.launchingMLInstances, .preparingTrainingStack, .downloading, .training, .uploading, .interrupted, .restarting])
            return (.inProgress, .starting, detail.isEmpty ? "Retrying the training job after an infrastructure failure" : detail)
        case .restarting:
            if from == .pending && state.interruptions == 0 { throw .notAllowed(from: from, event: event) }
            try require([.interrupted, .pending])
            return (.inProgress, .restarting, "Restarting the training job from the last checkpoint")
        }
    }
}
