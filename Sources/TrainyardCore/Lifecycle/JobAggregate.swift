import Foundation

/// A job as its lifecycle sees it: its state, the attempt an input concerns and that attempt's hosts. The one place
/// that decides what each ``LifecycleInput`` does to a job: ``handle(_:now:)`` returns the ``LifecycleEffect``s for the
/// store to carry out in one transaction, and does no I/O. ``JobStateMachine`` stays the table of status pairs under it.
public struct JobAggregate: Sendable, Hashable {
    /// The job's status pair, failure reason and interruptions.
    public var state: JobState
    /// The attempt the input concerns (the live or ending one); nil for a job without one (queued, or ended).
    public var attempt: AttemptState?
    /// Where each host of that attempt stands.
    public var hostPhases: [HostPhase]
    /// Why that attempt's hosts were asked to stop, if they were.
    public var stopReason: StopReason?
    /// The job's `max_run` and `max_wait`; nil where the caller did not load them (the scheduler's queue read), and
    /// the deadline is then left as stored.
    public var limits: JobLimits?
    /// Training seconds of the job's ended attempts.
    public var trainedSeconds: Double
    /// When the attempt's training clock started, while it trains.
    public var trainingSince: Date?
    /// The stored deadline: when a limit may have passed (``JobLimits/deadline(trainedSeconds:trainingSince:)``).
    public var deadline: Date?
    /// When the attempt's hosts were first asked to stop, and the grace they were given then.
    public var stopRequestedAt: Date?
    public var stopGraceSeconds: Double?
    /// The job's retry budget; nil where the caller did not load it (then no retry is left).
    public var retries: RetryBudget?
    /// How long the job has waited for capacity; nil where the caller did not load it (a job without `max_pending`
    /// need not: `max_pending` is then not judged).
    public var waits: CapacityWaits?
    /// The job's `keep_alive_period`: when it ends after an attempt ran, its hosts are kept that long for the next
    /// matching job (``WarmPool``). 0, or nil where the caller did not load it: no pool.
    public var keepAlivePeriod: Int?
    /// Whether the job runs on a pool an earlier job kept (`InUse`): when its attempt ends the pool goes with it.
    public var onWarmPool: Bool

    /// Creates an aggregate from what the store loaded.
    public init(
        state: JobState, attempt: AttemptState? = nil, hostPhases: [HostPhase] = [], stopReason: StopReason? = nil, limits: JobLimits? = nil,
        trainedSeconds: Double = 0, trainingSince: Date? = nil, deadline: Date? = nil, stopRequestedAt: Date? = nil, stopGraceSeconds: Double? = nil,
        retries: RetryBudget? = nil, waits: CapacityWaits? = nil, keepAlivePeriod: Int? = nil, onWarmPool: Bool = false
    ) {
        self.keepAlivePeriod = keepAlivePeriod
        self.onWarmPool = onWarmPool
        self.retries = retries
        self.waits = waits
        self.stopRequestedAt = stopRequestedAt
        self.stopGraceSeconds = stopGraceSeconds
        self.state = state
        self.attempt = attempt
        self.hostPhases = hostPhases
        self.stopReason = stopReason
        self.limits = limits
        self.trainedSeconds = trainedSeconds
        self.trainingSince = trainingSince
        self.deadline = deadline
    }

    /// Decides what `input` does to the job at `now`, updates the aggregate, and returns the effects to carry out.
    /// An input that comes after the job moved past it returns ``LifecycleEffect/unchanged(_:)``; one the state machine
    /// refuses returns ``LifecycleEffect/refused(_:)``. Never throws, never drops an input without an effect saying so.
    public mutating func handle(_ input: LifecycleInput, now: Date) -> [LifecycleEffect] {
        var step = Step(aggregate: self, now: now)
        switch input {
        case .capacityDenied(let message): step.capacityDenied(message)
        case .capacityGranted: step.capacityGranted()
        case .backendPlaced: step.backendPlaced()
        case .hostsProgressed: step.hostsProgressed()
        case .hostReported(let failed):
            if failed { step.hostEnded(.failed) } else { step.hostsProgressed() }
        case .hostEnded(let ending): step.hostEnded(ending)
        case .stopRequested(let reason, let grace): step.stopRequested(reason, graceSeconds: grace)
        case .attemptFinalized(let outcome): step.attemptFinalized(outcome)
        case .deadlinePassed(let grace): step.deadlinePassed(graceSeconds: grace)
        }
        step.keepDeadline()
        self = step.aggregate
        if case .hostReported = input {
            let answer = self.directive(now: now, heartbeatSeconds: 0)
            step.effects.append(.direct(answer.action, graceSeconds: answer.graceSeconds))
        }
        return step.effects
    }

    /// What the attempt whose hosts all finished comes to (``AttemptOutcome/decide(hosts:stopReason:maxRetryAttempts:retriesUsed:retryOnExitCodes:)``),
    /// from the hosts' results, why they were stopped and what is left of the retry budget: the finalizer merges its
    /// outputs for it and feeds it back as ``LifecycleInput/attemptFinalized(_:)``.
    public func outcome(of hosts: [HostResult]) -> AttemptOutcome {
        let budget = retries ?? .noRetries
        return AttemptOutcome.decide(
            hosts: hosts, stopReason: stopReason, maxRetryAttempts: budget.maxRetryAttempts, retriesUsed: budget.retriesUsed,
            retryOnExitCodes: budget.retryOnExitCodes)
    }

    /// What a host that reported after it ended (judged lost, or done) is told: stop when it was lost or its attempt no
    /// longer runs, else go on (its last report raced its own end). Its report changes nothing.
    public static func directiveForEndedHost(lost: Bool, attemptRunning: Bool) -> AgentDirective.Action {
        lost || !attemptRunning ? .stop : .proceed
    }

    /// What a host of the attempt is told at its heartbeat: stop with what is left of the first stop's grace once its
    /// gang was asked to stop, stop at once once the attempt no longer runs, else go on.
    public func directive(now: Date, heartbeatSeconds: Double) -> AgentDirective {
        Self.directive(
            attempt: attempt, stopRequestedAt: stopRequestedAt, stopGraceSeconds: stopGraceSeconds, now: now, heartbeatSeconds: heartbeatSeconds)
    }

    /// The same answer from the attempt's columns alone: what a heartbeat that changes nothing (a live host reporting
    /// the phase it is in) is told, without loading the rest of the job.
    public static func directive(
        attempt: AttemptState?, stopRequestedAt: Date?, stopGraceSeconds: Double?, now: Date, heartbeatSeconds: Double
    ) -> AgentDirective {
        if let requested = stopRequestedAt {
            let remaining = max(0, (stopGraceSeconds ?? 0) - now.timeIntervalSince(requested))
            return AgentDirective(action: .stop, graceSeconds: remaining, heartbeatIntervalSeconds: heartbeatSeconds)
        }
        if let attempt, attempt != .running {
            return AgentDirective(action: .stop, graceSeconds: 0, heartbeatIntervalSeconds: heartbeatSeconds)
        }
        return AgentDirective(action: .proceed, graceSeconds: 0, heartbeatIntervalSeconds: heartbeatSeconds)
    }

    /// The secondary statuses a job passes through while its hosts start, in order: the job follows its slowest host
    /// along them.
    static let startingWalk: [(status: SecondaryStatus, event: JobLifecycleEvent, reachedAt: HostPhase)] = [
        (.launchingMLInstances, .launching, .launching),
        (.preparingTrainingStack, .preparing, .preparing),
        (.downloading, .downloading, .downloading),
        (.training, .training, .training),
    ]
}

/// One call of ``JobAggregate/handle(_:now:)``: the aggregate as it changes and the effects so far.
private struct Step {
    var aggregate: JobAggregate
    let now: Date
    var effects: [LifecycleEffect] = []

    init(aggregate: JobAggregate, now: Date) {
        self.aggregate = aggregate
        self.now = now
    }

    var secondary: SecondaryStatus { aggregate.state.secondaryStatus }

    /// Feeds `event` to the state machine: records the transition, or the refusal. Answers whether it was accepted.
    @discardableResult
    mutating func feed(_ event: JobLifecycleEvent) -> Bool {
        var machine = JobStateMachine(state: aggregate.state)
        do {
            effects.append(.record(try machine.handle(event, now: now)))
            aggregate.state = machine.state
            return true
        } catch {
            effects.append(.refused(error))
            return false
        }
    }

    var recorded: [JobTransition] { effects.compactMap(\.transition) }

    mutating func unchanged(_ why: String) { effects.append(.unchanged(why)) }

    /// Whether an attempt named by the input has stopped running (the backend's word on it is then stale).
    mutating func attemptGone() -> Bool {
        guard let attempt = aggregate.attempt, attempt != .running else { return false }
        unchanged("the attempt is \(attempt.rawValue), no longer running")
        return true
    }

    mutating func capacityDenied(_ message: String) {
        if attemptGone() { return }
        if secondary == .pending {
            // The first message stays until the job starts: a new event each time the free count moved would flood
            // the job's events on every pass.
            return unchanged("already Pending")
        }
        let waitable: Set<SecondaryStatus> = [.starting, .launchingMLInstances, .interrupted, .restarting]
        guard aggregate.state.status == .inProgress, waitable.contains(secondary) else {
            return unchanged("the job is \(secondary.rawValue), past waiting for capacity")
        }
        feed(.waitingForCapacity(message))
        // No wake-up: the scheduler need not run again because it made a job wait.
    }

    mutating func capacityGranted() {
        // After an interruption the job restarts from its checkpoint: Interrupted (or Pending) → Restarting → launching.
        if secondary == .interrupted || (secondary == .pending && aggregate.state.interruptions > 0) {
            guard feed(.restarting) else { return }
        }
        guard feed(.launching) else { return }
        aggregate.waits?.granted(at: now)
        effects.append(.wake(.jobWatchers))
    }

    mutating func backendPlaced() {
        if attemptGone() { return }
        guard secondary == .pending else { return unchanged("the job is \(secondary.rawValue), not Pending") }
        feed(.launching)
    }

    mutating func hostsProgressed() {
        let phases = aggregate.hostPhases
        guard let slowest = phases.min() else { return unchanged("the attempt has no hosts") }
        // A backend that held the attempt queued made the job Pending; its hosts calling in means it was placed.
        if secondary == .pending, slowest > .launching {
            feed(.launching)
        }
        // The job follows its slowest host forward, never back, and not once a host is lost (the gang is stopping).
        let walk = JobAggregate.startingWalk
        if aggregate.state.status == .inProgress, !phases.contains(.lost),
            let from = walk.firstIndex(where: { $0.status == secondary }),
            let to = walk.lastIndex(where: { slowest >= $0.reachedAt }), to > from
        {
            for step in walk[(from + 1)...to] {
                guard feed(step.event) else { break }
            }
        }
        if recorded.contains(where: { $0.toSecondaryStatus == .training }) {
            aggregate.trainingSince = now
            effects.append(.startTrainingClock)
        }
        if !recorded.isEmpty { effects.append(.wake(.jobWatchers)) }
        if phases.allSatisfy(\.isFinal), aggregate.attempt == .running {
            aggregate.attempt = .ending
            effects.append(.markAttemptEnding)
            effects.append(.wake(.finalizer))
        }
        if effects.isEmpty { unchanged("the slowest host is \(slowest.rawValue): nothing moves the job on") }
    }

    /// Asks the running attempt's hosts to stop: the reason that prevails, and the first request's time and grace.
    mutating func stopAttempt(_ reason: StopReason, graceSeconds: Double) {
        let prevailing = StopReason.prevailing(current: aggregate.stopReason, requested: reason)
        aggregate.stopReason = prevailing
        if aggregate.stopRequestedAt == nil {
            aggregate.stopRequestedAt = now
            aggregate.stopGraceSeconds = graceSeconds
        }
        effects.append(.stopAttempt(prevailing, graceSeconds: graceSeconds))
    }

    mutating func hostEnded(_ ending: HostEnding) {
        guard aggregate.attempt == .running else { return unchanged("the attempt is \(aggregate.attempt?.rawValue ?? "missing"), no longer running") }
        switch ending {
        case .failed, .lost:
            // One host down ends the gang: the others are stopped at once, and the job follows where they are.
            stopAttempt(.gangFailure, graceSeconds: 0)
            hostsProgressed()
        case .reclaimed(let notice):
            stopAttempt(.interruption, graceSeconds: notice)
        }
    }

    mutating func stopRequested(_ reason: StopReason, graceSeconds: Double) {
        guard feed(.stopRequested) else { return }
        if aggregate.attempt == .running {
            stopAttempt(reason, graceSeconds: graceSeconds)
        } else {
            // No hosts to wait for: the job ends now.
            let ending: JobLifecycleEvent = switch reason {
            case .maxRuntime: .maxRuntimeExceeded
            case .maxWait: .maxWaitExceeded
            case .maxPending: .maxPendingExceeded
            case .user, .gangFailure, .interruption: .stopped
            }
            feed(ending)
        }
        effects.append(.wake(.jobWatchers))
    }

    mutating func attemptFinalized(_ outcome: AttemptOutcome) {
        guard aggregate.attempt == .ending else {
            return unchanged("the attempt is \(aggregate.attempt?.rawValue ?? "missing"), not ending: another finalizer ended it")
        }
        let (events, endReason, resumes) = Self.walk(of: outcome)
        aggregate.attempt = .ended
        defer {
            if let since = aggregate.trainingSince {
                let seconds = max(0, now.timeIntervalSince(since))
                aggregate.trainedSeconds += seconds
                aggregate.trainingSince = nil
                effects.append(.countTrainingTime(seconds: seconds))
            }
            effects.append(.endAttempt(reason: endReason))
        }
        guard !aggregate.state.status.isTerminal else {
            // Stopped while its outputs were merged, it still ended on its hosts.
            leaveWarmPool()
            return unchanged("the job ended \(aggregate.state.status.rawValue) while the attempt's outputs were merged")
        }
        // A job being stopped is not retried nor resumed: it ends, below.
        let stopping = aggregate.state.status == .stopping
        var resumed = false
        if !(resumes && stopping) {
            for event in events {
                guard feed(event) else { break }
            }
            resumed = resumes && !aggregate.state.status.isTerminal && recorded.count == events.count
        }
        if resumed {
            // The job waits for capacity again, from now.
            aggregate.waits?.waitingSince = now
            if case .interrupted = outcome { effects.append(.countInterruption) } else { effects.append(.countRetry) }
        } else if !aggregate.state.status.isTerminal {
            // Never leave a job hanging: a job stopped by its user while the attempt failed on its own still ends.
            feed(.failed(reason: endReason))
        }
        leaveWarmPool()
        if !recorded.isEmpty { effects.append(.wake(.jobWatchers)) }
    }

    /// The attempt has ended: a job that ended on its hosts keeps them warm when it asks for that (``WarmPool/left(keepAlivePeriod:hostPhases:onPool:now:)``);
    /// a job that goes back to the queue leaves the pool it ran on, which ends with the attempt.
    mutating func leaveWarmPool() {
        let pool: WarmPool?
        if aggregate.state.status.isTerminal {
            guard let keepAlive = aggregate.keepAlivePeriod else { return }
            pool = WarmPool.left(keepAlivePeriod: keepAlive, hostPhases: aggregate.hostPhases, onPool: aggregate.onWarmPool, now: now)
        } else {
            pool = aggregate.onWarmPool ? .terminated(at: now) : nil
        }
        aggregate.onWarmPool = false
        if let pool { effects.append(.keepWarmPool(pool)) }
    }

    mutating func deadlinePassed(graceSeconds: Double) {
        guard let limits = aggregate.limits else { return unchanged("the job's limits were not loaded") }
        guard aggregate.state.status == .inProgress else { return unchanged("the job is \(aggregate.state.status.rawValue)") }
        guard let kind = limits.passed(at: now, trainedSeconds: aggregate.trainedSeconds, trainingSince: aggregate.trainingSince, waits: aggregate.waits)
        else {
            return unchanged("no limit has passed yet")
        }
        stopRequested(kind.stopReason, graceSeconds: graceSeconds)
    }

    /// Keeps the stored deadline where the limits now put it (none once the job is no longer in progress); within a
    /// millisecond is the same deadline, as the database keeps microseconds.
    mutating func keepDeadline() {
        guard let limits = aggregate.limits else { return }
        let deadline =
            aggregate.state.status == .inProgress
            ? limits.deadline(trainedSeconds: aggregate.trainedSeconds, trainingSince: aggregate.trainingSince, waits: aggregate.waits) : nil
        switch (deadline, aggregate.deadline) {
        case (nil, nil): return
        case (let new?, let old?) where abs(new.timeIntervalSince(old)) < 0.001: return
        default:
            aggregate.deadline = deadline
            effects.append(.setDeadline(deadline))
        }
    }

    /// The events an outcome feeds, the attempt's end reason, and whether the job goes on with a new attempt.
    static func walk(of outcome: AttemptOutcome) -> (events: [JobLifecycleEvent], endReason: String, resumes: Bool) {
        switch outcome {
        case .completed:
            ([.uploading, .completed], "Completed", false)
        case .stopped:
            ([.stopped], "Stopped", false)
        case .maxRuntimeExceeded:
            ([.maxRuntimeExceeded], "MaxRuntimeExceeded", false)
        case .maxWaitExceeded:
            ([.maxWaitExceeded], "MaxWaitTimeExceeded", false)
        case .interrupted(let reason):
            // The job waits Interrupted in the scheduler's queue, then restarts from its checkpoint.
            (
                [.interrupted("Training job interrupted: \(reason). It resumes from its last checkpoint when capacity returns.")],
                "Interrupted: \(reason)", true
            )
        case .retry(let reason):
            ([.retrying("Retrying after an infrastructure failure: \(reason)")], reason, true)
        case .failed(let reason):
            ([.failed(reason: reason)], reason, false)
        }
    }
}
