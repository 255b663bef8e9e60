/// How one host of an ended attempt finished, as the store recorded it.
public struct HostResult: Sendable, Equatable {
    public var name: String
    public var ordinal: Int
    public var phase: HostPhase
    public var exitCode: Int32?
    public var signal: Int32?
    public var failureReason: String?
    /// Whether the agent stopped the command because the server asked it to.
    public var stopped: Bool
    /// Whether this host was the one reclaimed (a spot interruption).
    public var interrupted: Bool

    public init(
        name: String, ordinal: Int, phase: HostPhase, exitCode: Int32?, signal: Int32?, failureReason: String?, stopped: Bool, interrupted: Bool = false
    ) {
        self.interrupted = interrupted
        self.name = name
        self.ordinal = ordinal
        self.phase = phase
        self.exitCode = exitCode
        self.signal = signal
        self.failureReason = failureReason
        self.stopped = stopped
    }

    /// The command ended on its own with a failure (not a stop the server asked for).
    public var failedByItself: Bool {
        guard phase == .exited, !stopped else { return false }
        return (exitCode ?? 0) != 0 || signal != nil
    }
}

/// Why the server asked an attempt's hosts to stop.
public enum StopReason: String, Sendable, Codable {
    /// The user called stop.
    case user
    /// The job ran past `max_run`.
    case maxRuntime = "max_runtime"
    /// Another host of the gang failed or was lost: the rest of the gang is torn down.
    case gangFailure = "gang_failure"
    /// A host of the gang was reclaimed (a spot interruption): the gang syncs its checkpoints within the notice
    /// period and the job resumes from them on a new attempt.
    case interruption
    /// The job waited and ran past `max_wait`.
    case maxWait = "max_wait"
    /// The job waited for capacity past `max_pending` (it has no attempt running then).
    case maxPending = "max_pending"
}

extension StopReason {
    /// The reason an attempt keeps when it is asked to stop again: a user's stop and `max_wait` decide how the job
    /// ends, whatever stopped the gang before them; otherwise the first reason stays.
    public static func prevailing(current: StopReason?, requested: StopReason) -> StopReason {
        guard let current else { return requested }
        return requested.decidesEnding && !current.decidesEnding ? requested : current
    }

    /// Whether this reason decides how the job ends, whatever its hosts did meanwhile.
    var decidesEnding: Bool { self == .user || self == .maxWait || self == .maxPending }
}
