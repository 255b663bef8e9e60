/// What an attempt whose hosts have all finished comes to, decided from the hosts' results, the stop reason and the
/// job's retry budget (SageMaker: only infrastructure failures are retried, under `RetryStrategy`; user-code failures
/// only for the exit codes the job lists, as SkyPilot's `recover_on_exit_codes`).
public enum AttemptOutcome: Sendable, Equatable {
    /// Every host exited 0: upload the merged model, end `Completed`.
    case completed
    /// The user stopped the job: upload what is in `model/`, end `Stopped`.
    case stopped
    /// The job ran past `max_run`: upload, end `Stopped` / `MaxRuntimeExceeded`.
    case maxRuntimeExceeded
    /// The job waited and ran past `max_wait`: upload, end `Stopped` / `MaxWaitTimeExceeded`.
    case maxWaitExceeded
    /// A host was reclaimed (spot interruption): the job goes `Interrupted` and resumes from its checkpoint on a new
    /// attempt once capacity returns; interruptions do not count against `max_retry_attempts` (only `max_wait` bounds
    /// them). The reason names the host.
    case interrupted(reason: String)
    /// Try again with a new attempt; the reason names the failure.
    case retry(reason: String)
    /// End `Failed` with this reason.
    case failed(reason: String)

    /// Decides the outcome. `retriesUsed` counts earlier retries of this job.
    public static func decide(
        hosts: [HostResult], stopReason: StopReason?, maxRetryAttempts: Int, retriesUsed: Int, retryOnExitCodes: [Int]
    ) -> AttemptOutcome {
        let ordered = hosts.sorted { $0.ordinal < $1.ordinal }
        let canRetry = retriesUsed < maxRetryAttempts
        // A job its user stopped ends Stopped, whatever its hosts did meanwhile; so does one past max_wait.
        if stopReason == .user { return .stopped }
        if stopReason == .maxWait { return .maxWaitExceeded }
        // Every host finished its work before the reclaim reached it: nothing to resume.
        if stopReason == .interruption, !ordered.isEmpty, ordered.allSatisfy({ $0.phase == .exited && !$0.stopped && $0.exitCode == 0 && $0.signal == nil }) {
            return .completed
        }
        // A reclaimed gang's hosts end stopped or killed: that is the interruption, not a failure of theirs.
        if stopReason == .interruption {
            let reclaimed = ordered.first(where: \.interrupted) ?? ordered.first
            return .interrupted(reason: "CapacityError: spot capacity reclaimed host \(reclaimed?.name ?? "?")")
        }
        if let lost = ordered.first(where: { $0.phase == .lost }) {
            let reason = lost.failureReason ?? "InternalServerError: host \(lost.name) stopped heartbeating"
            return canRetry ? .retry(reason: reason) : .failed(reason: reason + Self.budgetNote(maxRetryAttempts))
        }
        if let failed = ordered.first(where: \.failedByItself) {
            let reason = failed.failureReason ?? "AlgorithmError: host \(failed.name) exited with code \(failed.exitCode ?? -1)"
            if let code = failed.exitCode, retryOnExitCodes.contains(Int(code)), canRetry {
                return .retry(reason: reason)
            }
            return .failed(reason: reason)
        }
        switch stopReason {
        case .user, .maxPending: return .stopped  // (max_pending stops only a job without a running attempt)
        case .maxWait: return .maxWaitExceeded
        case .maxRuntime: return .maxRuntimeExceeded
        case .interruption: return .completed
        case .gangFailure, nil: return .completed
        }
    }

    static func budgetNote(_ maxRetryAttempts: Int) -> String {
        maxRetryAttempts == 0 ? "" : " (after \(maxRetryAttempts) retries, max_retry_attempts)"
    }
}

/// A job's retry budget: `max_retry_attempts`, the exit codes it retries, and how many retries it used.
public struct RetryBudget: Sendable, Hashable {
    public var maxRetryAttempts: Int
    public var retriesUsed: Int
    public var retryOnExitCodes: [Int]

    public init(maxRetryAttempts: Int, retriesUsed: Int, retryOnExitCodes: [Int]) {
        self.maxRetryAttempts = maxRetryAttempts
        self.retriesUsed = retriesUsed
        self.retryOnExitCodes = retryOnExitCodes
    }

    /// No retries at all.
    public static let noRetries = RetryBudget(maxRetryAttempts: 0, retriesUsed: 0, retryOnExitCodes: [])
}
