import Foundation

/// What the store must do after ``JobAggregate/handle(_:now:)``, in the same transaction, in order.
public enum LifecycleEffect: Sendable, Hashable {
    /// Record the transition: an event, the job's status columns, and the webhooks ``WebhookEventType/announcing(status:created:)``
    /// names for it.
    case record(JobTransition)
    /// The attempt's training clock starts now (its hosts all train): `max_run` and billing count from here.
    case startTrainingClock
    /// Every host of the attempt is done: the attempt is ending, for a finalizer to merge and end.
    case markAttemptEnding
    /// Tell the live attempt's hosts to stop for `reason` (the one that prevails, ``StopReason/prevailing(current:requested:)``)
    /// with `graceSeconds` between SIGTERM and SIGKILL.
    case stopAttempt(StopReason, graceSeconds: Double)
    /// The attempt has ended; `reason` is its `end_reason`.
    case endAttempt(reason: String)
    /// The attempt trained this many seconds: they count against `max_run` from now on.
    case countTrainingTime(seconds: Double)
    /// The job's deadline is now this (nil: none), as ``JobLimits`` decide it.
    case setDeadline(Date?)
    /// One more retry of the job's `max_retry_attempts` is used.
    case countRetry
    /// One more spot interruption of the job.
    case countInterruption
    /// The job ended and leaves this pool: available to the next matching job until it expires, or terminated at once.
    case keepWarmPool(WarmPool)
    /// Wake whoever waits on this change.
    case wake(Wakeup)
    /// Answer the host that reported: go on, or stop its command with `graceSeconds` left between SIGTERM and SIGKILL.
    case direct(AgentDirective.Action, graceSeconds: Double)
    /// Nothing changes, and why: the input came after the job moved past it. Logged for debugging only.
    case unchanged(String)
    /// The state machine refused what the input asked; logged with the job and the attempt as a warning (the store
    /// refuses the request instead where a caller asked for it: a user's stop, a scheduler's grant).
    case refused(JobTransitionError)

    /// Who waits on a change.
    public enum Wakeup: Sendable, Hashable {
        /// The scheduler, the webhook sender and the log followers (`trainyard_jobs`).
        case jobWatchers
        /// The finalizers (`trainyard_attempts`).
        case finalizer
    }

    /// The transition, when this effect records one.
    public var transition: JobTransition? {
        if case .record(let transition) = self { return transition }
        return nil
    }

    /// The directive, when this effect is one.
    public var directive: (action: AgentDirective.Action, graceSeconds: Double)? {
        if case .direct(let action, let grace) = self { return (action, grace) }
        return nil
    }

    /// The refusal, when this effect is one.
    public var refusal: JobTransitionError? {
        if case .refused(let error) = self { return error }
        return nil
    }
}
