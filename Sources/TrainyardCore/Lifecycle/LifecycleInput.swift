/// Something that happened to a job, as the store tells ``JobAggregate/handle(_:now:)``: the scheduler's decision, the
/// backend's word on where an attempt stands, the hosts' progress, a stop, or the finalizer's verdict.
public enum LifecycleInput: Sendable, Equatable {
    /// The scheduler (or the backend holding the attempt queued) found no capacity for the whole gang; the message says
    /// what the job waits for.
    case capacityDenied(message: String)
    /// The scheduler allocated a new attempt with all its hosts.
    case capacityGranted
    /// The backend placed an attempt it had held queued (the hosts are starting).
    case backendPlaced
    /// The attempt's hosts moved on (a heartbeat, a lost host): ``JobAggregate/hostPhases`` holds where each stands.
    case hostsProgressed
    /// A live host's heartbeat: the hosts progressed, or with `failedByItself` its command failed on its own (the
    /// gang is stopped). The effects end with the directive the host is answered (``LifecycleEffect/direct(_:graceSeconds:)``).
    case hostReported(failedByItself: Bool)
    /// A host of the attempt ended before its gang: its command failed on its own, it was lost (lease, backend), or
    /// its provider is reclaiming it (a spot notice, `noticeSeconds` to sync). The rest of the gang is stopped.
    case hostEnded(HostEnding)
    /// Someone asked the job to stop for `reason` (a user, `max_run`, `max_wait`); a live attempt's hosts get
    /// `graceSeconds` between SIGTERM and SIGKILL.
    case stopRequested(StopReason, graceSeconds: Double)
    /// The finalizer merged the ended attempt's outputs; the outcome says where the job goes.
    case attemptFinalized(AttemptOutcome)
    /// The job's stored deadline came: Core judges which limit passed (``JobLimits/passed(at:trainedSeconds:trainingSince:)``)
    /// and stops the job for it, a live attempt's hosts with `graceSeconds`.
    case deadlinePassed(graceSeconds: Double)

    /// The input's name, for logs.
    public var name: String {
        switch self {
        case .capacityDenied: "capacityDenied"
        case .capacityGranted: "capacityGranted"
        case .backendPlaced: "backendPlaced"
        case .hostsProgressed: "hostsProgressed"
        case .hostReported: "hostReported"
        case .hostEnded: "hostEnded"
        case .stopRequested: "stopRequested"
        case .attemptFinalized: "attemptFinalized"
        case .deadlinePassed: "deadlinePassed"
        }
    }
}

/// How a host ended before its gang (``LifecycleInput/hostEnded(_:)``).
public enum HostEnding: Sendable, Equatable {
    /// Its command exited with a failure by itself: the gang is torn down at once.
    case failed
    /// It stopped heartbeating, or its backend says it is gone: the gang is torn down at once.
    case lost
    /// Its provider is taking it back: the gang syncs its checkpoints within the notice and resumes on a new attempt.
    case reclaimed(noticeSeconds: Double)
}
